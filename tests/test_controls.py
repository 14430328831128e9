"""Controls on every API: forced responses (Prefer: code / example), latency (Prefer: delay and
a workspace's delay), rate limits, and the request journal."""
from __future__ import annotations

import json
import threading

import pytest

from sandbox import create_app
from sandbox.engine.forced import ForcedResponses
from sandbox.engine.redis_traffic import RedisTraffic
from sandbox.engine.validation import ResponseValidator
from sandbox.settings import Settings

from .conftest import AUTH

BILLING_CUSTOMER = "cus_01h1w8r7s2v4l5m6n7p8j9k0q2"  # the documents' example customer, in every workspace
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_workspace(client, **body) -> dict[str, str]:
    response = client.post("/_sandbox/workspaces", json=body)
    assert response.status_code == 201, response.get_json()
    return bearer(response.get_json()["token"])


def operation(app, api_name: str, operation_id: str):
    api = next(a for a in app.extensions["sandbox"]["apis"] if a.name == api_name)
    return api, api.spec.operations[operation_id]


def assert_valid(app, api_name: str, operation_id: str, response) -> None:
    """The response is what the spec documents for its status."""
    _, op = operation(app, api_name, operation_id)
    assert ResponseValidator(op).problems(response.status_code, response.get_json()) == []


def customer_id(client) -> str:
    return client.get("/payments/customers?limit=1", headers=AUTH).get_json()["data"][0]["id"]


# -- forced responses -----------------------------------------------------------------------

def test_a_documented_error_code_is_answered_in_the_apis_own_shape(client):
    app = client.application
    found = client.get(f"/payments/customers/{customer_id(client)}", headers={**AUTH, "Prefer": "code=404"})
    assert found.status_code == 404 and found.headers["Preference-Applied"] == "code=404"
    body = found.get_json()
    assert body["error"] == "not_found" and "Prefer" in body["message"] and body["details"] == []
    assert_valid(app, "payments", "getCustomer", found)
    billing = client.get(f"/billing/v1/customers/{BILLING_CUSTOMER}/addresses", headers={**AUTH, "Prefer": "code=404"})
    assert billing.status_code == 404
    assert billing.get_json()["error"]["code"] == "not_found" and billing.get_json()["error"]["status"] == 404
    assert_valid(app, "billing", "listCustomerAddresses", billing)
    conflict = client.post(f"/payments/customers/{customer_id(client)}/restore", headers={**AUTH, "Prefer": "code=409"})
    assert conflict.status_code == 409 and conflict.get_json()["error"] == "conflict"


@pytest.mark.parametrize("api_name, operation_id, path", [
    ("payments", "listCustomers", "/payments/customers"),
    ("billing", "listCustomerBusinesses", f"/billing/v1/customers/{BILLING_CUSTOMER}/businesses"),
    ("exemptions", "listCustomers", "/exemptions/customers?corporation_id=corp_123"),
])
def test_a_forced_429_carries_retry_after_and_the_apis_error_shape(client, api_name, operation_id, path):
    response = client.get(path, headers={**AUTH, "Prefer": "code=429"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert "rate_limited" in response.get_data(as_text=True)
    assert_valid(client.application, api_name, operation_id, response)


def test_a_forced_success_answers_a_documented_example(client):
    response = client.get(f"/payments/customers/{customer_id(client)}", headers={**AUTH, "Prefer": "code=200"})
    assert response.status_code == 200 and response.get_json()["name"] == "Acme Corp"
    assert_valid(client.application, "payments", "getCustomer", response)


def test_an_undocumented_code_is_a_400_naming_the_allowed_codes(client):
    response = client.get("/payments/customers", headers={**AUTH, "Prefer": "code=404"})
    body = response.get_json()
    assert response.status_code == 400 and body["error"] == "invalid_request"
    assert "200, 400, 401" in body["message"] and body["details"][0]["field"] == "header.Prefer"
    billing = client.get(f"/billing/v1/customers/{BILLING_CUSTOMER}/addresses", headers={**AUTH, "Prefer": "code=418"})
    assert billing.status_code == 400 and "200, 400, 401, 404" in billing.get_json()["error"]["message"]


def test_the_request_is_validated_before_a_forced_code(client):
    bad = client.get(f"/payments/customers/{UNKNOWN_ID}/payment-methods?limit=500", headers={**AUTH, "Prefer": "code=404"})
    assert bad.status_code == 400 and bad.get_json()["details"][0]["field"] == "query.limit"
    assert "Preference-Applied" not in bad.headers
    unauthenticated = client.get(f"/payments/customers/{UNKNOWN_ID}", headers={"Prefer": "code=404"})
    assert unauthenticated.status_code == 401


def test_a_forced_validation_status_skips_validation(client):
    forced = client.get("/payments/customers/not-a-uuid", headers={**AUTH, "Prefer": "code=400"})
    assert forced.status_code == 400 and "Prefer" in forced.get_json()["message"]
    created = client.post("/payments/customers", json={"ein": "bad"}, headers={**AUTH, "Prefer": "code=422"})
    assert created.status_code == 422 and created.get_json()["error"] == "validation_failed"
    assert_valid(client.application, "payments", "createCustomer", created)
    count = client.get("/_sandbox/workspace", headers=AUTH).get_json()["apis"]["payments"]["counts"]["customers"]
    assert count == 50  # nothing was created


def test_a_named_example_is_answered_and_an_unknown_one_is_listed(client):
    response = client.delete(f"/payments/customers/{customer_id(client)}", headers={**AUTH, "Prefer": "example=archived"})
    assert response.status_code == 200 and response.get_json()["status"] == "archived"
    assert response.headers["Preference-Applied"] == "example=archived"
    assert client.get(f"/payments/customers/{customer_id(client)}", headers=AUTH).get_json()["status"] == "active"
    unknown = client.get("/payments/customers", headers={**AUTH, "Prefer": "example=nope"})
    assert unknown.status_code == 400 and "named examples: page" in unknown.get_json()["details"][0]["message"]


@pytest.mark.parametrize("prefer, problem", [
    ("code=abc", "whole number"), ("code=99", "100-599"), ("delay=10001", "at most 10000"),
    ("example=", "name of an example"), ("code=404, example=page", "not both"),
])
def test_bad_preferences_are_a_400_in_the_apis_shape(client, prefer, problem):
    response = client.get(f"/billing/v1/customers/{BILLING_CUSTOMER}/addresses", headers={**AUTH, "Prefer": prefer})
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_request"
    assert problem in error["message"] and error["details"][0]["field"] == "header.Prefer"


def test_other_preferences_are_ignored(client):
    response = client.get("/payments/customers?limit=1", headers={**AUTH, "Prefer": "return=minimal, respond-async"})
    assert response.status_code == 200 and "Preference-Applied" not in response.headers


def test_every_documented_code_of_every_operation_can_be_forced_validly(app):
    """Generic over the specs: each API's documented statuses have a body valid against their schema."""
    for api in app.extensions["sandbox"]["apis"]:
        if not api.controls:
            continue
        for op in api.spec.operations.values():
            forced = ForcedResponses(api, op)
            documented = sorted(int(s) for s in op.responses if s.isdigit())
            assert sorted(forced.by_code) == documented and forced.unforceable == [], (api.name, op.operation_id)
            validator = ResponseValidator(op)
            for status, canned in forced.by_code.items():
                assert validator.problems(status, canned.body) == [], (api.name, op.operation_id, status)


# -- latency ---------------------------------------------------------------------------------

def test_a_delayed_request_does_not_hold_up_another_workspace(client):
    slow, fast = new_workspace(client), new_workspace(client)
    done = threading.Event()

    def delayed():
        client.application.test_client().get("/payments/customers?limit=1", headers={**slow, "Prefer": "delay=3000"})
        done.set()

    thread = threading.Thread(target=delayed)
    thread.start()
    try:
        for _ in range(5):
            assert client.get("/payments/customers?limit=1", headers=fast).status_code == 200
        assert not done.is_set()  # the other workspace was answered while the delayed one still waited
    finally:
        thread.join()
    entry = client.get("/_sandbox/requests", headers=slow).get_json()["data"][0]
    assert entry["status"] == 200 and entry["duration_ms"] >= 3000


def test_a_workspace_may_have_only_so_many_delayed_requests_at_once():
    app = create_app(Settings(max_delayed=1))
    client = app.test_client()
    started = threading.Thread(target=lambda: app.test_client().get(
        "/payments/customers?limit=1", headers={**AUTH, "Prefer": "delay=2000"}))
    started.start()
    try:
        default = app.extensions["sandbox"]["registry"].default
        for _ in range(1000):  # until the first request is asleep
            if default.traffic is not None and default.traffic.asleep:
                break
            threading.Event().wait(0.01)
        refused = client.get("/payments/customers?limit=1", headers={**AUTH, "Prefer": "delay=1500"})
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
        assert refused.get_json()["error"] == "rate_limited" and "already waiting" in refused.get_json()["message"]
        assert client.get("/payments/customers?limit=1", headers=AUTH).status_code == 200  # undelayed: served
    finally:
        started.join()


def test_a_workspace_delay_applies_to_each_request_and_prefer_overrides_it(client):
    slow = new_workspace(client, delay_ms=200)
    assert client.get("/_sandbox/workspace", headers=slow).get_json()["delay_ms"] == 200
    client.get("/payments/customers?limit=1", headers=slow)
    client.get("/payments/customers?limit=1", headers={**slow, "Prefer": "delay=0"})
    overridden, delayed = client.get("/_sandbox/requests", headers=slow).get_json()["data"]
    assert delayed["duration_ms"] >= 200 and overridden["status"] == 200


# -- rate limits --------------------------------------------------------------------------------

def test_over_the_rate_limit_is_a_429_with_retry_after_in_each_apis_shape(client):
    limited = new_workspace(client, rate_limit=2)
    statuses = [client.get("/payments/customers?limit=1", headers=limited).status_code for _ in range(2)]
    assert statuses == [200, 200]
    payments = client.get("/payments/customers?limit=1", headers=limited)
    assert payments.status_code == 429 and int(payments.headers["Retry-After"]) >= 1
    assert payments.get_json()["error"] == "rate_limited" and "2 requests per second" in payments.get_json()["message"]
    assert_valid(client.application, "payments", "listCustomers", payments)
    billing = client.get(f"/billing/v1/customers/{BILLING_CUSTOMER}/addresses", headers=limited)
    assert billing.status_code == 429 and billing.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in billing.headers
    assert_valid(client.application, "billing", "listCustomerAddresses", billing)
    assert all(client.get("/payments/customers?limit=1", headers=AUTH).status_code == 200 for _ in range(20))


def as_if_a_second_passed(traffic) -> None:
    """Move the rate-limit bucket's last refill a second back (in Redis, the bucket's stamp)."""
    if isinstance(traffic, RedisTraffic):
        traffic._client.hincrbyfloat(traffic._bucket, "s", -1.0)
    else:
        traffic._stamp -= 1.0


def test_the_bucket_refills_with_time(client):
    limited = new_workspace(client, rate_limit=1)
    assert client.get("/payments/customers?limit=1", headers=limited).status_code == 200
    assert client.get("/payments/customers?limit=1", headers=limited).status_code == 429
    workspace = client.application.extensions["sandbox"]["registry"].by_bearer(limited["Authorization"][7:])
    as_if_a_second_passed(workspace.traffic)
    assert client.get("/payments/customers?limit=1", headers=limited).status_code == 200


# -- the journal ----------------------------------------------------------------------------------

def test_the_journal_lists_the_workspaces_requests_newest_first_with_errors(client):
    mine = new_workspace(client)
    client.get("/payments/customers?limit=2", headers=mine)
    client.get("/payments/customers?limit=500", headers=mine)
    client.get(f"/billing/v1/customers/{BILLING_CUSTOMER}/businesses?status=archived", headers=mine)
    client.get("/_sandbox/workspace", headers=mine)  # control routes are not journaled
    client.get("/payments/customers?limit=3", headers=AUTH)  # another workspace's
    body = client.get("/_sandbox/requests", headers=mine).get_json()
    assert body["capacity"] == 100
    assert [(e["api"], e["operation"], e["status"]) for e in body["data"]] == [
        ("billing", "listCustomerBusinesses", 200), ("payments", "listCustomers", 400), ("payments", "listCustomers", 200)]
    newest, rejected, oldest = body["data"]
    assert newest["method"] == "GET" and newest["query"] == {"status": "archived"} and newest["errors"] == []
    assert newest["path"] == f"/billing/v1/customers/{BILLING_CUSTOMER}/businesses"
    assert rejected["errors"][0]["field"] == "query.limit" and rejected["query"] == {"limit": "500"}
    assert oldest["query"] == {"limit": "2"} and oldest["duration_ms"] >= 0 and oldest["at"].endswith("Z")


def test_the_journal_filters_by_api_operation_and_status_and_limits(client):
    mine = new_workspace(client)
    for path in ("/payments/customers?limit=1", "/payments/customers?limit=500", "/payments/customers?limit=2"):
        client.get(path, headers=mine)
    client.get(f"/billing/v1/customers/{BILLING_CUSTOMER}/addresses", headers=mine)

    def journal(query: str) -> list[dict]:
        return client.get(f"/_sandbox/requests?{query}", headers=mine).get_json()["data"]

    assert [e["query"] for e in journal("operation=listCustomers")] == [{"limit": "2"}, {"limit": "500"}, {"limit": "1"}]
    assert [e["query"] for e in journal("status=400")] == [{"limit": "500"}]
    assert [e["api"] for e in journal("api=billing")] == ["billing"]
    assert len(journal("limit=2")) == 2 and journal("operation=listCustomers&status=404") == []
    assert client.get("/_sandbox/requests?status=abc", headers=mine).status_code == 400


def test_the_journal_is_bounded_and_keeps_no_token():
    app = create_app(Settings(journal_size=3))
    client = app.test_client()
    creds = client.post("/_sandbox/workspaces").get_json()
    mine = bearer(creds["token"])
    for n in range(5):
        client.get(f"/payments/customers?limit={n + 1}&access_token={creds['token']}", headers=mine)
    body = client.get("/_sandbox/requests", headers=mine).get_json()
    assert body["capacity"] == 3 and [e["query"]["limit"] for e in body["data"]] == ["5", "4", "3"]
    assert body["data"][0]["query"]["access_token"] == "[redacted]"
    assert creds["token"] not in json.dumps(body) and "sandbox-token" not in json.dumps(body)
    assert client.get("/_sandbox/requests", headers=AUTH).get_json()["data"] == []
