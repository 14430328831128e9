"""The automatic business assignment rule of document 001, case by case (pure functions)."""
from __future__ import annotations

import pytest

from sandbox.apis.commerce.assignment import (GENERIC_EMAIL_DOMAINS, Assignment, Candidate, account_key,
                                              assign_business, brand_name, normalize_company_name)

ACME = Candidate("b-acme", "Acme Corp", "acme.com")
NORDLICHT = Candidate("b-nordlicht", "Nordlicht Design GmbH", "factory-berlin.com")  # a co-working domain
KIEZ = Candidate("b-kiez", "Kiezküche UG (haftungsbeschränkt)", "factory-berlin.com")
NODOMAIN = Candidate("b-bakery", "Boulangerie Dupont S.à r.l.", None)
ORG = [ACME, NORDLICHT, KIEZ, NODOMAIN]


@pytest.mark.parametrize(("email", "company", "expected"), [
    # domain and name both match (the name after normalization)
    ("jane@acme.com", "Acme Corp", Assignment("domain_and_name", "b-acme", links_accounts=True)),
    ("jane@acme.com", "ACME Inc.", Assignment("domain_and_name", "b-acme", links_accounts=True)),
    ("jane@acme.com", "Acme GmbH", Assignment("domain_and_name", "b-acme", links_accounts=True)),
    ("Jane@ACME.com", "  acme, llc ", Assignment("domain_and_name", "b-acme", links_accounts=True)),
    # two companies sharing a co-working domain stay apart: the name decides
    ("ole@factory-berlin.com", "Nordlicht Design AG", Assignment("domain_and_name", "b-nordlicht", links_accounts=True)),
    ("mia@factory-berlin.com", "Kiezküche UG", Assignment("domain_and_name", "b-kiez", links_accounts=True)),
    ("tom@factory-berlin.com", "Spreewerk Studio", Assignment("new_business", None, "factory-berlin.com", True)),
    # the domain must match too: same name on another company domain is another business
    ("jane@acme.de", "Acme GmbH", Assignment("new_business", None, "acme.de", True)),
    # generic providers never match by domain; the name alone deduplicates, with no linking
    ("jane.doe@gmail.com", "ACME Inc.", Assignment("name_only", "b-acme")),
    ("pierre@orange.fr", "Boulangerie Dupont SARL", Assignment("name_only", "b-bakery")),
    ("someone@outlook.com", "Unknown Ventures Ltd", Assignment("new_business", None)),
    # a business without a domain never matches a company email (both criteria are required)
    ("pierre@dupont.fr", "Boulangerie Dupont", Assignment("new_business", None, "dupont.fr", True)),
    # no company name at checkout: nothing to assign
    ("jane@acme.com", "", Assignment("no_company", None)),
    ("jane@acme.com", None, Assignment("no_company", None)),
    # a bare legal form is a name of its own, not an empty one
    ("jane@acme.com", " GmbH ", Assignment("new_business", None, "acme.com", True)),
])
def test_assignment_rule(email, company, expected):
    assert assign_business(email, company, ORG) == expected


def test_first_of_several_matches_wins():
    twin = Candidate("b-acme-2", "ACME, Inc.", "acme.com")
    assert assign_business("a@acme.com", "Acme", [ACME, twin]).business_id == "b-acme"
    assert assign_business("a@acme.com", "Acme", [twin, ACME]).business_id == "b-acme-2"


@pytest.mark.parametrize(("name", "normalized"), [
    ("Acme GmbH", "acme"), ("ACME Inc.", "acme"), ("Acme Corp", "acme"), ("acme", "acme"),
    ("Acme Holding Ltd", "acmeholding"), ("Nord Licht AG", "nordlicht"), ("Nordlicht", "nordlicht"),
    ("Müller & Söhne GmbH & Co. KG", "mullersohne"), ("Straße Bau GmbH", "strassebau"),
    ("Société Générale S.A.", "societegenerale"), ("Dupont S.à r.l.", "dupont"), ("Dupont SARL", "dupont"),
    ("Van Dijk B.V.", "vandijk"), ("Van Dijk BV", "vandijk"), ("Rossi S.p.A.", "rossi"),
    ("Nowak Sp. z o.o.", "nowak"), ("Ørsted A/S", "orsted"), ("Smith & Co.", "smith"),
    ("Ltd", "ltd"), ("AG", "ag"), ("", ""), ("  ", ""),
    ("Coca-Cola Company", "cocacola"), ("Brown, Jones and Partners LLP", "brownjonesandpartners"),
])
def test_normalized_company_names(name, normalized):
    assert normalize_company_name(name) == normalized


@pytest.mark.parametrize(("name", "brand"), [
    ("Acme Corp", "Acme"), ("Acme Corporation", "Acme"), ("Müller & Söhne GmbH", "Müller & Söhne"),
    ("Dupont S.à r.l.", "Dupont"), ("Acme, Inc.", "Acme"), ("Van Dijk B.V.", "Van Dijk"),
    ("Nordlicht", "Nordlicht"), ("GmbH", "GmbH"), ("Smith & Co.", "Smith"),
])
def test_brand_names_drop_the_legal_form(name, brand):
    assert brand_name(name) == brand


def test_account_key_links_only_company_domains():
    assert account_key("acme.com", "Acme GmbH") == account_key("ACME.com", "ACME Inc.") == ("acme.com", "acme")
    assert account_key("acme.com", "Acme") != account_key("acme.de", "Acme")
    assert account_key("gmail.com", "Acme") is None
    assert account_key(None, "Acme") is None
    assert account_key("acme.com", "") is None


def test_the_generic_provider_list_is_real_and_sizeable():
    assert len(GENERIC_EMAIL_DOMAINS) > 1000
    for domain in ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "gmx.de",
                   "web.de", "t-online.de", "orange.fr", "libero.it", "proton.me", "aol.com"):
        assert domain in GENERIC_EMAIL_DOMAINS
    for domain in ("acme.com", "factory-berlin.com", "siemens.com"):
        assert domain not in GENERIC_EMAIL_DOMAINS
