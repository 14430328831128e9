"""Two strengths of one spec: every rule is the document's (``x-documented``) or ours
(``x-derived``); the document's view of a spec takes what its document shows, the strict
spec is what the sandbox serves."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from fixtures import build_datasets
from sandbox.apis import billing, commerce, exemptions, payments
from sandbox.engine.provenance import document_view, unmarked
from sandbox.engine.spec import resolve_refs
from sandbox.engine.validation import compile_schema

from .conftest import AUTH, ROOT

APIS = ["billing", "commerce", "exemptions", "payments"]


def raw(api: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "openapi" / f"{api}.yaml").read_text())


def resolved_view(api: str) -> dict[str, Any]:
    view = document_view(raw(api))
    return resolve_refs(view, view)


# -- every rule is marked -------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_every_constraint_and_status_code_is_the_documents_or_marked_ours(api):
    assert unmarked(raw(api)) == []


SNEAKED_IN = [  # (api, where to add it, the rule, what the check must report)
    ("payments", ("components", "schemas", "Customer", "properties", "external_id"), {"maxLength": 20},
     "#/components/schemas/Customer/properties/external_id: maxLength"),
    ("payments", ("components", "parameters", "customerId", "schema"), {"format": "uuid"},
     "#/components/parameters/customerId/schema: format"),
    ("billing", ("paths", "/v1/customers/{customer_id}/businesses", "get", "parameters", 0, "schema"),
     {"maxLength": 8}, "#/paths//v1/customers/{customer_id}/businesses/get/parameters[0]/schema: maxLength"),
    ("billing", ("components", "parameters", "offset", "schema"), {"multipleOf": 10},
     None),  # the parameter's x-derived string already makes every rule of its schema ours
    ("billing", ("components", "schemas", "Business", "properties", "tax_identifier"), {"pattern": "^US"},
     "#/components/schemas/Business/properties/tax_identifier: pattern"),
    ("exemptions", ("paths", "/customers", "get", "parameters", 0, "schema"), {"maxLength": 64},
     "#/paths//customers/get/parameters[0]/schema: maxLength"),
    ("exemptions", ("components", "schemas", "ShippingAddress", "properties", "postal_code"),
     {"minLength": 5}, "#/components/schemas/ShippingAddress/properties/postal_code: minLength"),
    ("exemptions", ("paths", "/customers", "get", "responses"), {"429": {"description": "Too many requests."}},
     "#/paths//customers/get/responses/429: status code"),
    ("payments", ("paths", "/customers/{id}", "get", "responses"), {"410": {"description": "Gone."}},
     "#/paths//customers/{id}/get/responses/410: status code"),
]


@pytest.mark.parametrize(("api", "where", "rule", "reported"), SNEAKED_IN, ids=[s[3] or "covered" for s in SNEAKED_IN])
def test_an_unmarked_rule_added_to_a_copy_is_reported(api, where, rule, reported):
    spec = copy.deepcopy(raw(api))
    node = spec
    for step in where:
        node = node[step]
    node.update(rule)
    if reported is None:
        assert unmarked(spec) == []
        return
    assert unmarked(spec) == [reported]
    key = next(iter(rule))
    if key.isdigit():
        node[key]["x-derived"] = "A test's own status code."
    else:
        node["x-derived"] = {key: "A test's own rule."}
    assert unmarked(spec) == []  # marked, it is ours and allowed


def test_a_documented_mark_covers_only_the_keywords_it_names():
    spec = copy.deepcopy(raw("billing"))
    status = spec["components"]["schemas"]["Business"]["properties"]["status"]
    status["minLength"] = 1
    assert unmarked(spec) == []  # x-documented as a string covers every keyword of its node
    status["x-documented"] = {"enum": "either `active` or `archived`"}
    assert unmarked(spec) == ["#/components/schemas/Business/properties/status: minLength"]


# -- the document's view --------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_the_document_view_is_a_valid_openapi_31_document_with_fewer_rules(api):
    view = document_view(raw(api))
    validate(view)
    assert view != raw(api) and unmarked(view) == []


def test_the_document_view_drops_our_rules_and_keeps_the_documents():
    strict, view = raw("payments"), document_view(raw("payments"))
    assert "/oauth/token" in strict["paths"] and "/oauth/token" not in view["paths"]  # the token URL is blank
    assert "/customers/{id}/users/{user_id}" not in view["paths"]  # the document has no read of one user
    spec = copy.deepcopy(strict)  # a link to an operation left out goes with it
    listed = spec["paths"]["/customers/{id}/users"]["get"]["responses"]["200"]["links"]
    listed["GetCustomerUser"] = {"operationId": "getCustomerUser", "parameters": {"user_id": "$response.body#/data/0/id"}}
    kept = document_view(spec)["paths"]["/customers/{id}/users"]["get"]["responses"]["200"]["links"]
    assert "NextPage" in kept and "GetCustomerUser" not in kept
    assert view["paths"]["/customers"]["post"]["responses"] == {
        "default": {"description": "The document lists no response."}}
    assert set(view["paths"]["/customers/{id}"]["get"]["responses"]) == {"200"}
    schemas = view["components"]["schemas"]
    assert schemas["TextField"]["type"] == "string" and "maxLength" not in schemas["TextField"]
    assert "pattern" not in schemas["Ein"] and schemas["Ein"]["type"] == "string"
    assert "format" not in schemas["Customer"]["properties"]["id"]
    assert "required" not in schemas["Customer"] and "additionalProperties" not in schemas["Customer"]
    billing_view = document_view(raw("billing"))
    assert billing_view["components"]["schemas"]["Business"]["required"] == \
        raw("billing")["components"]["schemas"]["Business"]["required"]  # x-documented: kept
    business_id = billing_view["components"]["schemas"]["Business"]["properties"]["id"]
    assert "pattern" not in business_id and business_id["allOf"][0]["pattern"] == "^biz_"  # the documented prefix
    assert billing_view["components"]["schemas"]["Address"]["properties"]["country"]["enum"]


def _schema(view: dict[str, Any], route: str, method: str, part: str) -> dict[str, Any]:
    op = view["paths"][route][method]
    if part == "body":
        return next(iter(op["requestBody"]["content"].values()))["schema"]
    return op["responses"][part]["content"]["application/json"]["schema"]


# The documents' own examples, copied here: each is what the document shows, whole.
_BUSINESSES_000 = {"data": [  # 000's example response (its trailing comma removed)
    {"id": "biz_01h1w8r7s2v4l5m6n7p8j9k0q1", "customer_id": "cus_01h1w8r7s2v4l5m6n7p8j9k0q2",
     "name": "Tech Innovations LLC", "phone": "+1-555-123-4567", "company_number": "987654321",
     "tax_identifier": "US987654321", "status": "active",
     "contacts": [{"name": "Alice Johnson", "email": "alice.johnson@techinnovations.com"}],
     "created_at": "2023-01-20T10:15:30.000Z", "updated_at": "2024-08-01T14:00:00.000Z",
     "custom_data": {"industry": "Technology", "employee_count": 150}},
    {"id": "biz_01h1w8r7s2v4l5m6n7p8j9k0q2", "customer_id": "cus_01h1w8r7s2v4l5m6n7p8j9k0q2",
     "name": "Creative Solutions Inc.", "phone": "+1-555-987-6543", "company_number": "123456789",
     "tax_identifier": "US123456789", "status": "archived",
     "contacts": [{"name": "Bob Lee", "email": "bob.lee@creativesolutions.com"}],
     "created_at": "2022-06-10T09:30:00.000Z", "updated_at": "2023-12-15T13:00:00.000Z",
     "custom_data": {"industry": "Marketing", "employee_count": 30}},
]}
_ADDRESSES_003 = {
    "customer_id": "cus_01h1w8r7s2v4l5m6n7p8j9k0q2",
    "addresses": [
        {"id": "add_01h1x0z5y4c1v2f5k6p3j9n8m7", "description": "Home Address", "region": "Kigali",
         "city": "Kigali", "country": "RW", "custom_data": {"landmark": "Office at Kigali Heights"},
         "created_at": "2024-08-01T10:15:30.000Z", "updated_at": "2024-08-29T14:45:22.000Z"},
        {"id": "add_01h2y1z6b5d7e8f9g0h1i2j3k4", "description": "Office Address", "region": "New York",
         "city": "New York City", "country": "US", "custom_data": {"floor": "15th"},
         "created_at": "2024-07-15T08:20:10.000Z", "updated_at": "2024-08-20T11:30:45.000Z"},
    ],
    "limit": 2, "offset": 0,
}
_CUSTOMERS_002 = {
    "customers": [{"id": "cust_789", "name": "Acme Corporation", "email": "contact@acme.com",
                   "corporation_id": "corp_123", "created_at": 1706000000,
                   "shipping_address": {"line1": "123 Main St", "city": "San Francisco", "state": "CA",
                                        "postal_code": "94105", "country": "US"}}],
    "total_customers": 1, "cursor": None,
}
_PATCH_004 = {  # 004's "Example:" of every patch field
    "city": "New York", "country": "USA", "ein": "12-3456789", "legal_name": "Acme Corporation Inc.",
    "name": "Acme Corp", "postal_code": "10001", "state": "NY", "street_address": "123 Main St, New York, NY 10001",
    "sub_premise": "Apt 1",
}
DOCUMENT_EXAMPLES = [
    ("billing", "/v1/customers/{customer_id}/businesses", "get", "200", _BUSINESSES_000),
    ("billing", "/v1/customers/{customer_id}/addresses", "get", "200", _ADDRESSES_003),
    ("exemptions", "/customers", "get", "200", _CUSTOMERS_002),
    ("exemptions", "/customers", "get", "200", {"data": _CUSTOMERS_002, "message": "Successfully fetched customers."}),
    ("payments", "/customers/{id}", "patch", "body", _PATCH_004),
    ("payments", "/customers", "post", "body", {k: v for k, v in _PATCH_004.items()}),
]


@pytest.mark.parametrize(("api", "route", "method", "part", "example"), DOCUMENT_EXAMPLES,
                         ids=[f"{a}:{m}:{r}:{p}" for a, r, m, p, _ in DOCUMENT_EXAMPLES])
def test_the_document_view_takes_the_documents_own_examples(api, route, method, part, example):
    schema = _schema(resolved_view(api), route, method, part)
    assert list(compile_schema(schema).iter_errors(example)) == []


def test_the_strict_spec_takes_the_example_shape_only():
    """The sandbox answers 002's example shape; the `{data, message}` reading is the contract's too."""
    strict = resolve_refs(raw("exemptions"), raw("exemptions"))
    schema = _schema(strict, "/customers", "get", "200")
    validator = compile_schema(schema)
    assert list(validator.iter_errors(_CUSTOMERS_002)) == []
    assert list(validator.iter_errors({"data": _CUSTOMERS_002, "message": "ok"}))


@pytest.fixture(scope="module")
def datasets():
    definitions = [api.API for api in (billing, commerce, exemptions, payments)]
    for definition in definitions:
        if not hasattr(definition, "spec"):
            definition.load()
    return build_datasets(definitions, seed=42, scale=1, today=date(2026, 1, 15))


@pytest.mark.parametrize("api", APIS)
def test_the_document_view_takes_every_fixture_record(datasets, api):
    view = resolved_view(api)
    collections = raw(api)["x-sandbox"]["collections"]
    checked = 0
    for name, records in datasets[api].items():
        validator = compile_schema(view["components"]["schemas"][collections[name]["schema"]])
        for record in records:
            public = {k: v for k, v in record.items() if not k.startswith("_")}
            assert list(validator.iter_errors(public)) == [], (name, public)
            checked += 1
    assert checked > 40


def _param_schema(view: dict[str, Any], route: str, name: str) -> dict[str, Any]:
    op = view["paths"][route]["get"]
    return next(p["schema"] for p in op.get("parameters", []) + view["paths"][route].get("parameters", [])
                if p["name"] == name)


@pytest.mark.parametrize(("api", "route", "name", "value"), [
    ("exemptions", "/customers", "source_platforms", "Shopify"),
    ("exemptions", "/customers", "certificate_types", "Resale Certificate"),
    ("exemptions", "/customers", "exemption_jurisdiction", "Ontario"),
    ("exemptions", "/customers", "expiration_status", "renewing"),
    ("exemptions", "/customers", "exemption_status", "approved"),
    ("exemptions", "/customers", "cursor", "c" * 2000),
    ("payments", "/customers", "company_name", "x" * 300),
])
def test_the_contract_takes_values_the_sandbox_refuses(api, route, name, value):
    """What the sandbox accepts is its own list; a real implementation may know more."""
    strict = resolve_refs(raw(api), raw(api))
    view = resolved_view(api)
    assert list(compile_schema(_param_schema(strict, route, name)).iter_errors(value))
    assert list(compile_schema(_param_schema(view, route, name)).iter_errors(value)) == []


@pytest.mark.parametrize("api", APIS)
def test_the_sandbox_serves_the_strict_spec(read_client, api):
    served = read_client.get(f"/_sandbox/specs/{api}", headers=AUTH)
    assert served.status_code == 200
    body = served.get_json()
    assert body == raw(api) != document_view(raw(api))
