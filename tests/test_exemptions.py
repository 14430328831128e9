"""Exemptions (document 002): the documented response, every filter, the cursor, bad values."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
import yaml

from fixtures.places import us_places
from sandbox import create_app
from sandbox.settings import Settings

from .conftest import AUTH, ROOT

E = "/exemptions/customers"
SPEC = yaml.safe_load((ROOT / "openapi" / "exemptions.yaml").read_text())
BASE = {"id", "name", "email", "corporation_id", "created_at"}


def error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"} and body["code"] == code and body["message"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def get(client, **query) -> dict:
    response = client.get(f"{E}?{urlencode(query)}", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def store(client) -> list[dict]:
    workspace = client.application.extensions["sandbox"]["registry"].default
    return list(workspace.collection("exemptions", "customers").values())


def corporations(client) -> list[str]:
    workspace = client.application.extensions["sandbox"]["registry"].default
    return [c["id"] for c in workspace.collection("exemptions", "corporations").values()]


def walk(client, limit: int = 100, **query) -> tuple[list[dict], int]:
    """Every customer of a query, following the cursor; and total_customers (same on every page)."""
    items, cursor, totals = [], None, set()
    while True:
        page = get(client, limit=limit, **query, **({"cursor": cursor} if cursor else {}))
        items += page["customers"]
        totals.add(page["total_customers"])
        cursor = page["cursor"]
        if cursor is None:
            assert len(totals) == 1
            return items, totals.pop()


def active(c: dict) -> bool:
    return any(x["status"] == "active" and x["expiration_status"] != "expired"
               for x in c["exemption_metadata"]["certificates"])


def cert(**wanted):
    names = {"exemption_jurisdiction": "jurisdiction", "expiration_status": "expiration_status",
             "exemption_status": "status"}
    return lambda c: any(all(x[names[k]] == v for k, v in wanted.items()) for x in c["exemption_metadata"]["certificates"])


# (query, predicate on a stored customer)
FILTERS = [
    ({"search_term": "INC"}, lambda c: "inc" in c["name"].lower()),
    ({"source_platforms": "shopify"}, lambda c: c["_source_platform"] == "shopify"),
    ({"source_platforms": "amazon,stripe,magento"}, lambda c: c["_source_platform"] in {"amazon", "stripe", "magento"}),
    ({"certificate_types": "resale"}, lambda c: any(x["type"] == "resale" for x in c["exemption_metadata"]["certificates"])),
    ({"certificate_types": "nonprofit,government,medical"},
     lambda c: any(x["type"] in {"nonprofit", "government", "medical"} for x in c["exemption_metadata"]["certificates"])),
    ({"exemption_jurisdiction": "US-CA"}, cert(exemption_jurisdiction="US-CA")),
    ({"exemption_jurisdiction": "GB"}, cert(exemption_jurisdiction="GB")),
    ({"has_exemption": "TRUE"}, active),
    ({"extend": "shipping_address, exemption_metadata", "search_term": "a"}, lambda c: "a" in c["name"].lower()),
    *[({"expiration_status": s}, cert(expiration_status=s)) for s in ("valid", "expiring_soon", "expired")],
    *[({"exemption_status": s}, cert(exemption_status=s)) for s in ("active", "pending", "revoked")],
    ({"has_exemption": "true"}, active),
    ({"has_exemption": "false"}, lambda c: not active(c)),
    ({"exemption_status": "active", "expiration_status": "valid", "source_platforms": "shopify,amazon,stripe,netsuite"},
     lambda c: cert(exemption_status="active", expiration_status="valid")(c)
     and c["_source_platform"] in {"shopify", "amazon", "stripe", "netsuite"}),
]


def test_the_documented_request_returns_the_documented_response(read_client):
    documented = SPEC["paths"]["/customers"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    assert get(read_client, corporation_id="corp_123", limit=20, extend="shipping_address", search_term="acme") == documented


@pytest.mark.parametrize(("query", "predicate"), FILTERS, ids=[urlencode(q) for q, _ in FILTERS])
def test_every_filter_is_honoured_with_exact_totals(read_client, query, predicate):
    found_any = False
    for corporation in corporations(read_client):
        expected = [c["id"] for c in store(read_client) if c["corporation_id"] == corporation and predicate(c)]
        items, total = walk(read_client, limit=3, corporation_id=corporation, **query)
        assert [c["id"] for c in items] == expected and total == len(expected)
        found_any = found_any or bool(expected)
    assert found_any, f"no seeded customer matches {query}: the filter is untested"


def test_exact_name_and_platform_ids_find_a_known_customer(read_client):
    known = next(c for c in store(read_client) if c["corporation_id"] != "corp_123")
    other = next(c for c in store(read_client) if c["corporation_id"] == known["corporation_id"] and c is not known)
    corp = known["corporation_id"]
    assert [c["id"] for c in walk(read_client, corporation_id=corp, name=known["name"])[0]] == [known["id"]]
    assert walk(read_client, corporation_id=corp, name=known["name"].upper())[1] == 0  # exact means exact
    ids = f"{known['_source_platform_id']},{other['_source_platform_id']}"
    assert {c["id"] for c in walk(read_client, corporation_id=corp, source_platform_ids=ids)[0]} == {known["id"], other["id"]}


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_the_cursor_walks_the_filtered_set_once_in_order(read_client, limit):
    for corporation in corporations(read_client)[:3]:
        items, total = walk(read_client, limit=limit, corporation_id=corporation, has_exemption="false")
        keys = [(c["created_at"], c["id"]) for c in items]
        assert len(items) == total and len(set(keys)) == total and keys == sorted(keys)


def test_a_cursor_only_works_with_its_own_query(read_client):
    corp = corporations(read_client)[1]
    cursor = get(read_client, corporation_id=corp, limit=1, has_exemption="false")["cursor"]
    assert cursor
    assert get(read_client, corporation_id=corp, limit=5, extend="shipping_address", has_exemption="false",
               cursor=cursor)["customers"]
    for query in ({"corporation_id": corp}, {"corporation_id": corp, "has_exemption": "true"},
                  {"corporation_id": corporations(read_client)[2], "has_exemption": "false"}):
        error(read_client.get(f"{E}?{urlencode({**query, 'cursor': cursor})}", headers=AUTH), 400, "invalid_cursor",
              "query.cursor")
    error(read_client.get(f"{E}?corporation_id={corp}&cursor=garbage", headers=AUTH), 400, "invalid_cursor",
          "query.cursor")


@pytest.mark.parametrize(("extend", "blocks"), [
    (None, set()), ("shipping_address", {"shipping_address"}), ("exemption_metadata", {"exemption_metadata"}),
    ("shipping_address,exemption_metadata", {"shipping_address", "exemption_metadata"}),
])
def test_extend_adds_exactly_the_requested_blocks(read_client, extend, blocks):
    query = {"corporation_id": corporations(read_client)[1], "limit": 100, **({"extend": extend} if extend else {})}
    customers = get(read_client, **query)["customers"]
    assert customers and all(set(c) == BASE | blocks for c in customers)


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "query.limit"), ("limit=101", "query.limit"), ("limit=x", "query.limit"),
    ("extend=billing_address", "query.extend"), ("has_exemption=yes", "query.has_exemption"),
    ("certificate_types=resale,bogus", "query.certificate_types"), ("exemption_jurisdiction=us-ca", "query.exemption_jurisdiction"),
    ("exemption_jurisdiction=California", "query.exemption_jurisdiction"),
    ("expiration_status=soon", "query.expiration_status"), ("exemption_status=approved", "query.exemption_status"),
    ("source_platforms=ebay", "query.source_platforms"), ("search_term=", "query.search_term"),
])
def test_bad_values_are_400_naming_the_parameter(read_client, query, field):
    error(read_client.get(f"{E}?corporation_id=corp_123&{query}", headers=AUTH), 400, "invalid_request", field)


def test_the_sandbox_takes_what_a_real_implementation_may_know(read_client):
    """The document names the filters, not their values: jurisdictions beyond US states
    (`CA-ON`), long corporation ids (an unknown one is a 404), an empty cursor (the first page)."""
    on = get(read_client, corporation_id="corp_123", limit=100, exemption_jurisdiction="CA-ON", extend="exemption_metadata")
    assert all(any(x["jurisdiction"] == "CA-ON" for x in c["exemption_metadata"]["certificates"]) for c in on["customers"])
    error(read_client.get(f"{E}?corporation_id=corp_{'x' * 100}", headers=AUTH), 404, "not_found", "query.corporation_id")
    assert get(read_client, corporation_id="corp_123", cursor="") == get(read_client, corporation_id="corp_123")


def test_certificates_are_issued_where_their_customer_is(read_client):
    places = {(p.city, p.state, p.postal_code) for p in us_places()}
    for customer in store(read_client):
        where = customer["shipping_address"]
        if where["country"] == "US":
            assert (where["city"], where["state"], where["postal_code"]) in places, where
        for x in customer["exemption_metadata"]["certificates"]:
            if where["country"] in ("US", "CA"):
                assert x["jurisdiction"].startswith(where["country"] + "-"), (where, x)
            else:
                assert x["jurisdiction"] == where["country"], (where, x)


def test_corporation_errors(read_client):
    error(read_client.get(E, headers=AUTH), 400, "invalid_request", "query.corporation_id")
    error(read_client.get(f"{E}?corporation_id=corp_999", headers=AUTH), 404, "not_found", "query.corporation_id")


def test_auth_route_and_method_errors_in_the_exemptions_shape(read_client):
    response = read_client.get(f"{E}?corporation_id=corp_123")
    error(response, 401, "unauthorized", "header.Authorization")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error(read_client.get(f"{E}?corporation_id=corp_123", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    error(read_client.get("/exemptions/nope", headers=AUTH), 404, "not_found")
    response = read_client.post(E, headers=AUTH)
    error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_fixtures_look_real_and_dates_fit_today(read_client):
    today = read_client.application.extensions["sandbox"]["settings"].today
    customers = store(read_client)
    assert len(corporations(read_client)) >= 4
    assert len({c["_source_platform"] for c in customers}) >= 5
    assert {"US"} < {c["shipping_address"]["country"] for c in customers}
    certificates = [x for c in customers for x in c["exemption_metadata"]["certificates"]]
    assert {x["expiration_status"] for x in certificates} == {"valid", "expiring_soon", "expired"}
    assert any(x["expires_at"] is None for x in certificates)
    for x in certificates:
        expires = date.fromisoformat(x["expires_at"]) if x["expires_at"] else None
        assert date.fromisoformat(x["issued_at"]) <= (expires or today)
        status = "valid" if expires is None or expires - today > timedelta(days=30) else (
            "expired" if expires < today else "expiring_soon")
        assert x["expiration_status"] == status
    assert all(not k.startswith("_") for c in get(read_client, corporation_id="corp_123", limit=100,
                                                    extend="shipping_address,exemption_metadata")["customers"] for k in c)


def test_same_seed_same_bytes():
    a, b = (create_app(Settings(seed=42)).test_client() for _ in range(2))
    url = f"{E}?corporation_id=corp_123&limit=100&extend=shipping_address,exemption_metadata"
    assert a.get(url, headers=AUTH).data == b.get(url, headers=AUTH).data
