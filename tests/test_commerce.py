"""Commerce (document 001): the document's requests, filters, sort, pages, includes, writes and
bad input, each answer checked for its status, its body, and against the JSON:API document
schema published by jsonapi.org (``tests/jsonapi_schema.json``: the JSON:API 1.0 schema from
https://jsonapi.org/schema, as shipped by the npm package jsonapi-validator 3.0.5, MIT), not
only against our own spec."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
from stdnum.util import get_cc_module

from fixtures import commerce as fixtures
from fixtures import seeded
from sandbox import create_app
from sandbox.settings import Settings

from .conftest import AUTH

ORG = fixtures.FIRST_ORGANIZATION
ACME = fixtures.DOCUMENTED_BUSINESS
B = "/commerce/api/v1/businesses"
JSONAPI = "application/vnd.api+json"
MEMBER = {"Authorization": "Bearer sandbox-token-member"}
DOCUMENT_SCHEMA = jsonschema_rs.validator_for(json.loads((Path(__file__).parent / "jsonapi_schema.json").read_text()))


def document(response, status: int = 200) -> dict:
    """The body of a JSON:API answer with ``status``: the media type, and a valid document."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == JSONAPI
    body = response.get_json()
    errors = [e.message for e in DOCUMENT_SCHEMA.iter_errors(body)]
    assert not errors, (errors, body)
    return body


def error(response, status: int, code: str, **source: str) -> dict:
    """An error document whose errors all have ``status`` and ``code``, one with ``source``."""
    body = document(response, status)
    assert body["errors"] and all(e["status"] == str(status) and e["code"] == code and e["title"] and e["detail"]
                                  for e in body["errors"]), body
    if source:
        assert source in [e.get("source") for e in body["errors"]], body
    return body


def get(client, url: str) -> dict:
    return document(client.get(url, headers=AUTH))


def send(client, method: str, url: str, body, headers=AUTH, content_type: str = JSONAPI):
    return client.open(url, method=method, headers=headers, data=json.dumps(body), content_type=content_type)


def store(client, collection: str):
    return client.application.extensions["sandbox"]["registry"].default.collection("commerce", collection)


def businesses(client, org: str = ORG) -> list[dict]:
    return list(store(client, "businesses").values(parent=org))


def walk(client, url: str, size: int) -> list[dict]:
    """Every resource of a list, page by page, following ``links.next``; checks meta on the way."""
    items, link, number = [], f"{url}&page[size]={size}", 1
    while link:
        page = get(client, link)
        meta = page["meta"]["page"]
        assert (meta["number"], meta["size"]) == (number, size)
        assert len(page["data"]) <= size
        items += page["data"]
        link, number = page["links"].get("next"), number + 1
    assert len(items) == meta["total"] and meta["total_pages"] == max(1, -(-meta["total"] // size))
    return items


# -- the document's requests ------------------------------------------------------------

def test_documented_requests_work_verbatim(client):
    listed = get(client, f"{B}?o={ORG}")
    assert listed["meta"]["page"]["total"] == len(businesses(client))
    found = get(client, f"{B}?o={ORG}&filter[search]=acme")
    assert [b["id"] for b in found["data"]] == [ACME]
    acme = found["data"][0]
    assert acme["attributes"].items() >= {"name": "Acme Corp", "domain": "acme.com", "vat_id": "DE123456789",
                                       "billing_email": "billing@acme.com", "brand_name": "Acme"}.items()
    included = get(client, f"{B}/{ACME}?o={ORG}&include=billing_address,customers,customer_balances,logo_image,payment_setup")
    linked = {(r["type"], r["id"]) for name in ("billing_address", "customers", "customer_balances", "logo_image", "payment_setup")
              for r in _linkage(included["data"]["relationships"][name])}
    assert linked and {(r["type"], r["id"]) for r in included["included"]} == linked
    created = send(client, "POST", f"{B}?o={ORG}", {"data": {"type": "businesses", "attributes": {
        "name": "Acme Corp", "billing_email": "billing@acme.com", "domain": "acme.com", "vat_id": "DE123456789"}}})
    new = document(created, 201)["data"]
    assert created.headers["Location"] == f"{B}/{new['id']}?o={ORG}" == new["links"]["self"]
    updated = document(send(client, "PATCH", f"{B}/{new['id']}?o={ORG}", {"data": {
        "type": "businesses", "id": new["id"], "attributes": {"name": "Acme Corporation", "billing_email": "invoices@acme.com"}}}))
    assert updated["data"]["attributes"].items() >= {"name": "Acme Corporation", "billing_email": "invoices@acme.com",
                                                     "domain": "acme.com", "brand_name": "Acme"}.items()
    assert get(client, f"{B}/{new['id']}?o={ORG}")["data"] == updated["data"]
    deleted = client.delete(f"{B}/{new['id']}?o={ORG}", headers=AUTH)
    assert deleted.status_code == 204 and deleted.data == b"" and "Content-Type" not in deleted.headers
    error(client.get(f"{B}/{new['id']}?o={ORG}", headers=AUTH), 404, "not_found")
    for url in (f"/commerce/api/v1/customers?o={ORG}&include=business,business.logo_image,business.billing_address",
                f"/commerce/api/v1/orders?o={ORG}&include=customer.business,customer.business.logo_image",
                f"/commerce/api/v1/plan-subscriptions?o={ORG}&include=customer.business,customer.business.custom_entries.field"):
        assert get(client, url)["data"]
    booking = next(store(client, "bookings").values(parent=ORG))
    shown = get(client, f"/commerce/api/v1/bookings/{booking['id']}?o={ORG}&include=customer.business")
    assert shown["data"]["id"] == booking["id"]
    assert {r["type"] for r in shown["included"]} <= {"customers", "businesses"}


def _linkage(relationship: dict) -> list[dict]:
    data = relationship["data"]
    return data if isinstance(data, list) else [data] if data else []


# -- includes -----------------------------------------------------------------------------

def _reachable(doc: dict, path: list[str]) -> set[tuple[str, str]]:
    """What ``path`` reaches from the primary data, following linkage through ``included``."""
    index = {(r["type"], r["id"]): r for r in doc.get("included", [])}
    frontier = doc["data"] if isinstance(doc["data"], list) else [doc["data"]]
    reached: set[tuple[str, str]] = set()
    for step in path:
        keys = {(l["type"], l["id"]) for r in frontier for l in _linkage(r["relationships"][step])}
        reached |= keys
        frontier = [index[k] for k in keys]  # KeyError: linkage to a resource not included
    return reached


@pytest.mark.parametrize(("url", "paths"), [
    (f"/commerce/api/v1/customers?o={ORG}&page[size]=50&include=business,business.logo_image,business.billing_address",
     [["business"], ["business", "logo_image"], ["business", "billing_address"]]),
    (f"/commerce/api/v1/orders?o={ORG}&page[size]=50&include=customer.business,customer.business.logo_image",
     [["customer"], ["customer", "business"], ["customer", "business", "logo_image"]]),
    (f"/commerce/api/v1/plan-subscriptions?o={ORG}&page[size]=50&include=customer.business,customer.business.custom_entries.field",
     [["customer"], ["customer", "business"], ["customer", "business", "custom_entries", "field"]]),
    (f"{B}?o={ORG}&page[size]=50&include=customers,billing_address", [["customers"], ["billing_address"]]),
])
def test_included_holds_every_reached_resource_once_and_nothing_else(read_client, url, paths):
    doc = get(read_client, url)
    keys = [(r["type"], r["id"]) for r in doc["included"]]
    assert len(keys) == len(set(keys))  # the JSON:API schema checks this too (uniqueItems)
    primary = {(r["type"], r["id"]) for r in doc["data"]}
    assert not primary & set(keys)
    reached = set().union(*(_reachable(doc, p) for p in paths)) - primary
    assert set(keys) == reached


def test_a_business_shared_by_many_customers_is_included_once(read_client):
    doc = get(read_client, f"/commerce/api/v1/customers?o={ORG}&page[size]=100&include=business")
    linked = [r["relationships"]["business"]["data"]["id"] for r in doc["data"] if r["relationships"]["business"]["data"]]
    assert len(linked) > len(set(linked))  # several customers of one business on this page
    assert sorted(r["id"] for r in doc["included"]) == sorted(set(linked))


def test_relationships_carry_linkage_that_matches_the_store(read_client):
    doc = get(read_client, f"{B}/{ACME}?o={ORG}")
    customers = [c["id"] for c in store(read_client, "customers").values(parent=ORG) if c["business_id"] == ACME]
    assert [r["id"] for r in doc["data"]["relationships"]["customers"]["data"]] == customers
    entries = doc["data"]["relationships"]["custom_entries"]["data"]
    assert entries == [] and doc["data"]["attributes"]["custom_entry_map"] == {}
    without = get(read_client, f"{B}/{ACME}?o={ORG}")
    assert "included" not in without


def test_custom_entries_include_their_fields(read_client):
    with_map = next(b for b in businesses(read_client) if b["custom_entry_map"])
    doc = get(read_client, f"/commerce/api/v1/plan-subscriptions?o={ORG}&page[size]=100"
                           "&include=customer.business.custom_entries.field")
    fields = {r["id"]: r["attributes"]["name"] for r in doc["included"] if r["type"] == "custom-fields"}
    entries = [r for r in doc["included"] if r["type"] == "custom-entries"]
    assert all(e["relationships"]["field"]["data"]["id"] in fields for e in entries)
    assert set(fields.values()) <= {"Cost center", "Purchase order required", "Employees"}
    assert with_map["custom_entry_map"]


# -- filters, sort, pages --------------------------------------------------------------------

def _ids(doc: dict) -> list[str]:
    return [r["id"] for r in doc["data"]]


def test_filters_match_the_store_exactly(read_client):
    every = businesses(read_client)
    some = [b["id"] for b in every[:4]]
    assert _ids(get(read_client, f"{B}?o={ORG}&filter[ids]={','.join(some)}")) == some
    rest = _ids(get(read_client, f"{B}?o={ORG}&page[size]=100&filter[exclude_ids]={','.join(some)}"))
    assert rest == [b["id"] for b in every[4:]]
    assert _ids(get(read_client, f"{B}?o={ORG}&filter[ids]={some[0]},not-an-id&filter[exclude_ids]={some[0]}")) == []
    assert _ids(get(read_client, f"{B}?o={ORG}&filter[name]=Acme Corp")) == [ACME]
    assert _ids(get(read_client, f"{B}?o={ORG}&filter[name]=acme corp")) == []  # exact: case matters
    german = next(b for b in every if (b["vat_id"] or "").startswith("DE") and b["id"] != ACME)
    assert _ids(get(read_client, f"{B}?o={ORG}&filter[search]={german['vat_id'].lower()}")) == [german["id"]]
    by_domain = _ids(get(read_client, f"{B}?o={ORG}&page[size]=100&filter[search]={fixtures.COWORKING_DOMAIN.upper()}"))
    assert len(by_domain) == 2
    term = "gmbh"
    expected = [b["id"] for b in every if any(term in (b[f] or "").casefold() for f in ("name", "domain", "vat_id"))]
    assert expected and _ids(get(read_client, f"{B}?o={ORG}&page[size]=100&filter[search]={term}")) == expected
    both = _ids(get(read_client, f"{B}?o={ORG}&page[size]=100&filter[search]={term}&filter[exclude_ids]={expected[0]}"))
    assert both == expected[1:]


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at", "name,-created_at", "-created_at,name"])
def test_sort_by_one_or_several_keys(read_client, sort):
    records = sorted(businesses(read_client), key=lambda b: b["id"])
    for field in reversed(sort.split(",")):
        name = field.lstrip("-")
        key = (lambda b: (b["name"].casefold(), b["name"])) if name == "name" else (lambda b: b["created_at"])
        records.sort(key=key, reverse=field.startswith("-"))
    assert [r["id"] for r in walk(read_client, f"{B}?o={ORG}&sort={sort}", 7)] == [r["id"] for r in records]


@pytest.mark.parametrize("size", [1, 3, 10, 100])
def test_pages_cover_each_resource_once_with_links(read_client, size):
    expected = [b["id"] for b in businesses(read_client)]
    assert [r["id"] for r in walk(read_client, f"{B}?o={ORG}", size)] == expected


def test_page_links_and_a_page_past_the_end(read_client):
    total = len(businesses(read_client))
    first = get(read_client, f"{B}?o={ORG}&sort=name&page[size]=5")
    assert "prev" not in first["links"]
    assert first["links"]["next"] == f"{B}?o={ORG}&sort=name&page%5Bnumber%5D=2&page%5Bsize%5D=5"
    assert first["links"]["last"].endswith(f"page%5Bnumber%5D={-(-total // 5)}&page%5Bsize%5D=5")
    past = get(read_client, f"{B}?o={ORG}&page[number]=999")
    assert past["data"] == [] and "next" not in past["links"] and past["meta"]["page"]["total"] == total


def test_other_lists_page_oldest_first(read_client):
    for kind, collection in (("customers", "customers"), ("orders", "orders"), ("plan-subscriptions", "plan_subscriptions")):
        expected = [r["id"] for r in store(read_client, collection).values(parent=ORG)]
        assert [r["id"] for r in walk(read_client, f"/commerce/api/v1/{kind}?o={ORG}", 25)] == expected


# -- bad input: status and errors body ---------------------------------------------------------

@pytest.mark.parametrize(("query", "parameter"), [
    ("include=owner", "include"),
    ("include=customers.owner", "include"),
    ("sort=size", "sort"),
    ("sort=name,", "sort"),
    ("filter[colour]=red", "filter[colour]"),
    ("fields[businesses]=name", "fields[businesses]"),
    ("page[number]=0", "page[number]"),
    ("page[size]=101", "page[size]"),
    ("page[size]=ten", "page[size]"),
    ("page[offset]=5", "page[offset]"),
    ("filter[name]=", "filter[name]"),
])
def test_bad_query_parameters_are_400_naming_the_parameter(read_client, query, parameter):
    error(read_client.get(f"{B}?o={ORG}&{query}", headers=AUTH), 400, "invalid_request", parameter=parameter)


def test_unknown_include_on_the_other_reads_is_400(read_client):
    for url in (f"/commerce/api/v1/customers?o={ORG}&include=orders", f"/commerce/api/v1/orders?o={ORG}&include=business",
                f"/commerce/api/v1/plan-subscriptions?o={ORG}&include=customer.orders"):
        error(read_client.get(url, headers=AUTH), 400, "invalid_request", parameter="include")


def test_organization_is_required_and_scopes_every_read(read_client):
    error(read_client.get(B, headers=AUTH), 400, "invalid_request", parameter="o")
    error(read_client.get(f"{B}?o=00000000-0000-4000-8000-000000000000", headers=AUTH), 404, "not_found", parameter="o")
    other = next(o["id"] for o in store(read_client, "organizations").values() if o["id"] != ORG)
    error(read_client.get(f"{B}/{ACME}?o={other}", headers=AUTH), 404, "not_found")
    assert ACME not in _ids(get(read_client, f"{B}?o={other}&page[size]=100"))
    booking = next(store(read_client, "bookings").values(parent=ORG))
    error(read_client.get(f"/commerce/api/v1/bookings/{booking['id']}?o={other}", headers=AUTH), 404, "not_found")
    error(read_client.get(f"{B}/not-a-uuid?o={ORG}", headers=AUTH), 400, "invalid_request")


def test_credentials_401_and_non_admin_403(read_client):
    response = read_client.get(f"{B}?o={ORG}")
    error(response, 401, "unauthorized", header="Authorization")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error(read_client.get(f"{B}?o={ORG}", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    error(read_client.get(f"{B}?o={ORG}", headers=MEMBER), 403, "forbidden", header="Authorization")
    error(send(read_client, "POST", f"{B}?o={ORG}", {"data": {"type": "businesses", "attributes": {"name": "X"}}},
               headers=MEMBER), 403, "forbidden")
    assert read_client.get("/payments/customers?limit=1", headers=MEMBER).status_code == 200  # valid elsewhere


def test_unknown_routes_and_methods_answer_in_jsonapi_shape(read_client):
    error(read_client.get(f"/commerce/api/v1/nothing?o={ORG}", headers=AUTH), 404, "not_found")
    response = read_client.put(f"{B}/{ACME}?o={ORG}", headers=AUTH)
    error(response, 405, "method_not_allowed")
    assert "PATCH" in response.headers["Allow"]


@pytest.mark.parametrize(("body", "status", "code", "pointer"), [
    ({"data": {"type": "customers", "attributes": {"name": "X"}}}, 409, "conflict", "/data/type"),
    ({"data": {"type": "businesses", "id": "3f1e0000-0000-4000-8000-000000000001", "attributes": {"name": "X"}}},
     403, "forbidden", "/data/id"),
    ({"data": {"type": "businesses", "attributes": {}}}, 422, "validation_failed", "/data/attributes/name"),
    ({"data": {"type": "businesses", "attributes": {"name": ""}}}, 422, "validation_failed", "/data/attributes/name"),
    ({"data": {"type": "businesses", "attributes": {"name": "X", "colour": "red"}}}, 422, "validation_failed",
     "/data/attributes/colour"),
    ({"data": {"type": "businesses", "attributes": {"name": "X", "billing_email": "not-an-email"}}}, 422,
     "validation_failed", "/data/attributes/billing_email"),
    ({"data": {"type": "businesses", "attributes": {"name": 5}}}, 422, "validation_failed", "/data/attributes/name"),
    ({"data": {"type": "businesses", "attributes": {"name": "X", "custom_entry_map": {
        "3f1e0000-0000-4000-8000-000000000001": "x"}}}}, 422, "validation_failed",
     "/data/attributes/custom_entry_map/3f1e0000-0000-4000-8000-000000000001"),
    ({"data": {"type": "businesses"}}, 422, "validation_failed", "/data/attributes"),
    ({"meta": {}}, 422, "validation_failed", "/data"),
    ([], 422, "validation_failed", ""),
])
def test_bad_create_bodies_change_nothing(client, body, status, code, pointer):
    before = len(store(client, "businesses"))
    error(send(client, "POST", f"{B}?o={ORG}", body), status, code, pointer=pointer)
    assert len(store(client, "businesses")) == before


def test_bad_media_type_and_malformed_json(client):
    error(send(client, "POST", f"{B}?o={ORG}", {"data": {}}, content_type="application/json"), 415,
          "unsupported_media_type", header="Content-Type")
    response = client.post(f"{B}?o={ORG}", headers=AUTH, data=b"{not json", content_type=JSONAPI)
    error(response, 400, "invalid_request", pointer="")


def test_patch_checks_type_and_id_and_regenerates_the_brand(client):
    url = f"{B}/{ACME}?o={ORG}"
    error(send(client, "PATCH", url, {"data": {"type": "orders", "id": ACME}}), 409, "conflict", pointer="/data/type")
    other = businesses(client)[1]["id"]
    error(send(client, "PATCH", url, {"data": {"type": "businesses", "id": other, "attributes": {"name": "Y"}}}),
          409, "conflict", pointer="/data/id")
    error(send(client, "PATCH", url, {"data": {"type": "businesses", "id": ACME, "attributes": {"name": None}}}),
          422, "validation_failed", pointer="/data/attributes/name")
    assert get(client, url)["data"]["attributes"]["name"] == "Acme Corp"
    renamed = get_patch(client, url, {"name": "Globex GmbH & Co. KG", "brand_name": None})
    assert renamed["brand_name"] == "Globex"
    assert get_patch(client, url, {"brand_name": ""})["brand_name"] == "Globex"
    assert get_patch(client, url, {"brand_name": "GLX"})["brand_name"] == "GLX"
    field = next(f["id"] for f in store(client, "custom_fields").values(parent=ORG))
    assert get_patch(client, url, {"custom_entry_map": {field: "CC-1"}})["custom_entry_map"] == {field: "CC-1"}
    doc = get(client, f"{url}&include=customers")
    assert [e["id"] for e in doc["data"]["relationships"]["custom_entries"]["data"]]


def get_patch(client, url: str, attributes: dict) -> dict:
    return document(send(client, "PATCH", url, {"data": {"type": "businesses", "id": ACME,
                                                           "attributes": attributes}}))["data"]["attributes"]


def test_delete_unlinks_customers_who_stay_readable(client):
    customers = [c["id"] for c in store(client, "customers").values(parent=ORG) if c["business_id"] == ACME]
    assert customers
    assert client.delete(f"{B}/{ACME}?o={ORG}", headers=AUTH).status_code == 204
    listed = walk(client, f"/commerce/api/v1/customers?o={ORG}&include=business", 100)
    mine = [c for c in listed if c["id"] in customers]
    assert len(mine) == len(customers) and all(c["relationships"]["business"]["data"] is None for c in mine)
    error(client.delete(f"{B}/{ACME}?o={ORG}", headers=AUTH), 404, "not_found")
    assert ACME not in _ids(get(client, f"{B}?o={ORG}&page[size]=100"))


# -- workspaces, fixtures ------------------------------------------------------------------

def test_every_workspace_starts_with_the_documented_business(client):
    created = client.post("/_sandbox/workspaces", json={"name": "partner-a"}).get_json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    summary = client.get("/_sandbox/workspace", headers=headers).get_json()["apis"]["commerce"]
    organizations = summary["start_ids"]["organization_ids"]
    assert organizations[0] == ORG and len(organizations) == 3
    doc = document(client.get(f"{B}?o={ORG}&filter[name]=Acme Corp", headers=headers))
    assert _ids(doc) == [ACME]
    member = {"Authorization": f"Bearer {created['token']}-member"}
    error(client.get(f"{B}?o={ORG}", headers=member), 403, "forbidden")


def test_fixtures_are_deterministic_and_realistic():
    from datetime import date

    def build(seed: int) -> str:
        return json.dumps(fixtures.build(seeded(seed, "commerce"), 1, date(2026, 1, 1)), sort_keys=True)

    assert build(42) == build(42) != build(7)
    data = json.loads(build(42))
    vat_ids = [b["vat_id"] for b in data["businesses"] if b["vat_id"] and b["id"] != ACME]
    assert len({v[:2] for v in vat_ids}) >= 6
    assert all(get_cc_module(v[:2].lower(), "vat").is_valid(v) for v in vat_ids)
    by_id = {b["id"]: b for b in data["businesses"]}
    on_domain = [c for c in data["customers"] if c["business_id"] and c["email"].endswith("@" + by_id[c["business_id"]]["domain"])]
    assert len(on_domain) > len(data["customers"]) / 2
    assert any(c["business_id"] is None for c in data["customers"])
    shared = [a for a in data["business_accounts"] if len({b["organization_id"] for b in data["businesses"]
                                                            if b["business_account_id"] == a["id"]}) > 1]
    assert shared  # some companies book with several providers


def test_the_same_seed_answers_the_same_bytes():
    urls = [f"{B}?o={ORG}&include=customers,billing_address&sort=-name",
            f"/commerce/api/v1/orders?o={ORG}&include=customer.business"]
    first, second = (create_app(Settings(seed=42)).test_client() for _ in range(2))
    assert [first.get(u, headers=AUTH).data for u in urls] == [second.get(u, headers=AUTH).data for u in urls]


# -- the simulated checkout (sandbox control route) ------------------------------------------

def checkout(client, email: str, company: str | None, org: str = ORG) -> dict:
    response = client.post("/_sandbox/commerce/checkouts", headers=AUTH,
                           json={"organization_id": org, "email": email, "company_name": company})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _business_named(client, name: str) -> str:
    return next(b["id"] for b in businesses(client) if b["name"] == name)


def test_checkout_assigns_by_domain_and_normalized_name(client):
    acme_account = store(client, "businesses").get(ACME)["business_account_id"]
    for company in ("ACME Inc.", "Acme GmbH", "acme corp"):
        result = checkout(client, "jane@acme.com", company)
        assert (result["rule"], result["business"]["id"]) == ("domain_and_name", ACME)
        assert result["business_account"]["id"] == acme_account
    customers = [c for c in store(client, "customers").values(parent=ORG) if c["email"] == "jane@acme.com"]
    assert len(customers) == 1 and customers[0]["business_id"] == ACME and customers[0]["company_name"] == "acme corp"
    listed = walk(client, f"/commerce/api/v1/customers?o={ORG}&include=business", 100)
    jane = next(c for c in listed if c["id"] == customers[0]["id"])
    assert jane["relationships"]["business"]["data"] == {"type": "businesses", "id": ACME}


def test_a_kept_resource_object_is_not_served_once_what_it_links_to_changes(client):
    """A seeded business's resource object is kept between reads (jsonapi.Graph.resources); a
    new customer of it must show in the next read, and only in the workspace that made it."""
    url, single = f"{B}?o={ORG}&filter[ids]={ACME}", f"{B}/{ACME}?o={ORG}"

    def linked(headers=AUTH) -> tuple[list[str], list[str]]:
        listed = document(client.get(url, headers=headers))["data"][0]["relationships"]["customers"]["data"]
        alone = document(client.get(single, headers=headers))["data"]["relationships"]["customers"]["data"]
        return [c["id"] for c in listed], [c["id"] for c in alone]

    before = linked()
    assert before[0] == before[1] == [c["id"] for c in store(client, "customers").values(parent=ORG)
                                      if c["business_id"] == ACME]
    assert linked() == before  # read again: the kept objects
    new_customer = checkout(client, "kept@acme.com", "ACME Inc.")["customer"]["id"]
    after = linked()
    assert after[0] == after[1] == [*before[0], new_customer]
    other = client.post("/_sandbox/workspaces", json={"name": "untouched"}).get_json()
    assert linked({"Authorization": f"Bearer {other['token']}"}) == before


def test_checkout_keeps_co_working_companies_apart(client):
    nordlicht, kiez = _business_named(client, "Nordlicht Design GmbH"), _business_named(client, "Kiezküche UG (haftungsbeschränkt)")
    assert checkout(client, "ole@mitte-hub.de", "Nordlicht Design AG")["business"]["id"] == nordlicht
    assert checkout(client, "mia@mitte-hub.de", "Kiezküche UG")["business"]["id"] == kiez
    result = checkout(client, "tom@mitte-hub.de", "Spreewerk Studio")
    assert result["rule"] == "new_business" and result["business"]["id"] not in (nordlicht, kiez)
    assert result["business"]["attributes"]["domain"] == fixtures.COWORKING_DOMAIN
    assert result["business"]["attributes"]["brand_name"] == "Spreewerk Studio"


def test_checkout_with_a_generic_email_matches_by_name_only(client):
    result = checkout(client, "jane.doe@gmail.com", "ACME Inc.")
    assert (result["rule"], result["business"]["id"]) == ("name_only", ACME)
    fresh = checkout(client, "sam@outlook.com", "Sam's Bakery Ltd")
    assert fresh["rule"] == "new_business" and fresh["business"]["attributes"]["domain"] is None
    assert fresh["business_account"] is None  # no cross-organization linking without a company domain
    nobody = checkout(client, "kim@gmail.com", None)
    assert nobody["rule"] == "no_company" and nobody["business"] is None
    assert nobody["customer"]["relationships"]["business"]["data"] is None


def test_checkout_links_the_same_company_across_organizations(client):
    other = next(o["id"] for o in store(client, "organizations").values() if o["id"] != ORG)
    result = checkout(client, "max@acme.com", "Acme GmbH", org=other)
    assert result["rule"] == "new_business" and result["business"]["id"] != ACME
    account = result["business_account"]
    assert account["id"] == store(client, "businesses").get(ACME)["business_account_id"]
    assert {(b["organization_id"], b["business_id"]) for b in account["businesses"]} >= {
        (ORG, ACME), (other, result["business"]["id"])}
    assert (account["domain"], account["normalized_name"]) == ("acme.com", "acme")
    # the new business is served by the commerce API, in its own organization only
    assert get(client, f"{B}/{result['business']['id']}?o={other}")["data"]["attributes"]["name"] == "Acme GmbH"
    error(client.get(f"{B}/{result['business']['id']}?o={ORG}", headers=AUTH), 404, "not_found")


def test_checkout_bad_input(client):
    response = client.post("/_sandbox/commerce/checkouts", headers=AUTH,
                           json={"organization_id": "00000000-0000-4000-8000-000000000000", "email": "a@acme.com"})
    assert response.status_code == 404 and response.get_json()["details"] == [
        {"field": "body.organization_id", "message": "no such organization"}]
    response = client.post("/_sandbox/commerce/checkouts", headers=AUTH, json={"organization_id": ORG, "email": "nope"})
    assert response.status_code == 422 and response.get_json()["details"][0]["field"] == "body.email"
    response = client.post("/_sandbox/commerce/checkouts", json={"organization_id": ORG, "email": "a@acme.com"})
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
