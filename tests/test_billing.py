"""Billing (documents 000 and 003): the documented responses, every parameter, bad input."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pycountry
import pytest
import yaml

from sandbox import create_app
from sandbox.settings import Settings

from .conftest import AUTH, ROOT

B = "/billing/v1/customers"
DOC = "cus_01h1w8r7s2v4l5m6n7p8j9k0q2"
SPEC = yaml.safe_load((ROOT / "openapi" / "billing.yaml").read_text())
SCENARIOS = sorted((ROOT / "fixtures" / "scenarios").glob("billing-*.yaml"))


def example(path: str) -> dict:
    return SPEC["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["example"]


def error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "code", "message", "details"}
    assert body["error"]["status"] == status and body["error"]["code"] == code and body["error"]["message"]
    if field is not None:
        assert field in [d["field"] for d in body["error"]["details"]], body
    return body


def get(client, url: str) -> dict:
    response = client.get(url, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def customers(client) -> list[str]:
    """Every customer of the default workspace (store), the documented one included."""
    store = client.application.extensions["sandbox"]["registry"].default
    return [c["id"] for c in store.collection("billing", "customers").values()]


def test_documented_requests_return_the_documented_responses(read_client):
    assert get(read_client, f"{B}/{DOC}/businesses") == example("/v1/customers/{customer_id}/businesses")
    assert get(read_client, f"{B}/{DOC}/addresses?limit=2") == example("/v1/customers/{customer_id}/addresses")
    archived = get(read_client, f"{B}/{DOC}/businesses?status=archived&limit=2")
    assert [b["name"] for b in archived["data"]] == ["Creative Solutions Inc."]
    assert get(read_client, f"{B}/{DOC}/addresses?limit=2&offset=2") == {
        "customer_id": DOC, "addresses": [], "limit": 2, "offset": 2}


def _walk(client, url: str, limit: int) -> list[dict]:
    items, offset = [], 0
    key = "addresses" if "/addresses" in url else "data"
    sep = "&" if "?" in url else "?"
    while True:
        page = get(client, f"{url}{sep}limit={limit}&offset={offset}")
        assert (page["limit"], page["offset"]) == (limit, offset)
        if not page[key]:
            return items
        items += page[key]
        offset += limit


def _check_lists(client, customer_id: str) -> None:
    for kind in ("businesses", "addresses"):
        full = _walk(client, f"{B}/{customer_id}/{kind}", 100)
        keys = [(r["created_at"], r["id"]) for r in full]
        assert keys == sorted(keys, reverse=True)  # newest first
        for limit in (1, 2, 3, 7):
            assert _walk(client, f"{B}/{customer_id}/{kind}", limit) == full
    everything = _walk(client, f"{B}/{customer_id}/businesses", 100)
    parts = []
    for status in ("active", "archived"):
        part = _walk(client, f"{B}/{customer_id}/businesses?status={status}", 3)
        assert all(b["status"] == status for b in part)
        parts += part
    assert sorted(b["id"] for b in parts) == sorted(b["id"] for b in everything)


def test_filters_and_offset_pages_are_exact_for_seeded_customers(read_client):
    ids = customers(read_client)
    big = [c for c in ids if len(_walk(read_client, f"{B}/{c}/businesses", 100)) >= 12]
    assert big, "the seeded data has customers with many businesses"
    for customer_id in [DOC, *big[:2], *ids[1:4]]:
        _check_lists(read_client, customer_id)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_filters_and_offset_pages_are_exact_for_scenario_customers(path):
    scenario = yaml.safe_load(path.read_text())
    for how in ("start", "run time"):
        if how == "start":
            client = create_app(Settings(fixtures=[str(path)])).test_client()
        else:
            client = create_app(Settings()).test_client()
            assert client.post("/_sandbox/fixtures", headers=AUTH, json=scenario).status_code == 200
        for customer in scenario["billing"]["customers"]:
            _check_lists(client, customer["id"])
            mine = [b for b in scenario["billing"].get("businesses", []) if b["customer_id"] == customer["id"]]
            assert len(_walk(client, f"{B}/{customer['id']}/businesses", 2)) == len(mine)


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "query.limit"), ("limit=101", "query.limit"), ("limit=abc", "query.limit"),
    ("limit=1&limit=2", "query.limit"), ("offset=-1", "query.offset"), ("offset=x", "query.offset"),
    ("status=deleted", "query.status"), ("status=Active", "query.status"),
])
def test_bad_parameters_are_400_naming_the_parameter(read_client, query, field):
    error(read_client.get(f"{B}/{DOC}/businesses?{query}", headers=AUTH), 400, "invalid_request", field)
    if not query.startswith("status"):
        error(read_client.get(f"{B}/{DOC}/addresses?{query}", headers=AUTH), 400, "invalid_request", field)


def test_an_empty_status_is_a_status_not_provided(read_client):
    """000: "If not provided, all businesses regardless of status will be returned"."""
    everything = get(read_client, f"{B}/{DOC}/businesses")
    assert {b["status"] for b in everything["data"]} == {"active", "archived"}
    assert get(read_client, f"{B}/{DOC}/businesses?status=") == everything


@pytest.mark.parametrize("kind", ["businesses", "addresses"])
@pytest.mark.parametrize("customer_id", ["cus_123", "cus_x", "12345", "biz_01h1w8r7s2v4l5m6n7p8j9k0q1", DOC.upper(),
                                         "cus_" + "a" * 27])
def test_any_customer_id_string_is_taken_and_one_of_nobody_is_404(read_client, kind, customer_id):
    """The documents say ids are "typically prefixed with `cus_`": the contract asks no form of them."""
    error(read_client.get(f"{B}/{customer_id}/{kind}", headers=AUTH), 404, "not_found", "path.customer_id")


def test_an_unknown_customer_is_404_not_an_empty_list(read_client):
    for kind in ("businesses", "addresses"):
        error(read_client.get(f"{B}/cus_01h1w8r7s2v4l5m6n7p8j9k0zz/{kind}", headers=AUTH), 404, "not_found",
              "path.customer_id")


def test_offset_past_the_end_is_an_empty_page(read_client):
    page = get(read_client, f"{B}/{DOC}/businesses?offset=500&limit=5")
    assert page == {"data": [], "limit": 5, "offset": 500}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}])
def test_auth_errors_in_the_billing_shape(read_client, headers):
    response = read_client.get(f"{B}/{DOC}/businesses", headers=headers)
    error(response, 401, "unauthorized", "header.Authorization")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_routes_and_methods_answer_in_the_billing_shape(read_client):
    error(read_client.get("/billing/v1/nope", headers=AUTH), 404, "not_found")
    response = read_client.post(f"{B}/{DOC}/businesses", headers=AUTH)
    error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def test_data_looks_real(read_client):
    registry = read_client.application.extensions["sandbox"]["registry"]
    workspace = registry.default
    countries = {c.alpha_2 for c in pycountry.countries}
    assert set(SPEC["components"]["schemas"]["Address"]["properties"]["country"]["enum"]) == countries
    for business in workspace.collection("billing", "businesses").values():
        domains = {c["email"].split("@")[1] for c in business["contacts"]}
        assert len(domains) == 1 and business["updated_at"] >= business["created_at"]
        assert len(business["name"].split()) > 1, business["name"]  # never a bare surname
    us = [b for b in workspace.collection("billing", "businesses").values() if b["phone"] and b["phone"].startswith("+1-")
          and b["tax_identifier"] and b["tax_identifier"].startswith("US")]
    assert us and all(re.fullmatch(r"US\d{9}", b["tax_identifier"]) for b in us)
    assert all(re.fullmatch(r"\d{9}", b["company_number"]) for b in us if b["company_number"])
    for record in workspace.collection("billing", "addresses").values():
        assert record["country"] in countries and record["updated_at"] >= record["created_at"]
    generated = [b for b in workspace.collection("billing", "businesses").values() if not b["id"].startswith("biz_01h1w8")]
    for business in generated:
        body = business["id"][4:]
        assert len(body) == 26 and set(body) <= set(_CROCKFORD)
        millis = 0
        for ch in body[:10]:
            millis = millis * 32 + _CROCKFORD.index(ch)
        stamp = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
        assert stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z" == business["created_at"]


def test_same_seed_same_bytes():
    a, b = (create_app(Settings(seed=42)).test_client() for _ in range(2))
    for url in (f"{B}/{DOC}/businesses", f"{B}/{customers(a)[1]}/addresses?limit=50"):
        assert a.get(url, headers=AUTH).data == b.get(url, headers=AUTH).data
    assert json.loads(a.get("/_sandbox/workspace", headers=AUTH).data)["apis"]["billing"]["counts"]["businesses"] > 50
