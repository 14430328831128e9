"""Scenario fixtures: loaded at start or at run time, checked whole, never half-loaded."""
from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from sandbox import create_app
from sandbox.engine.errors import ValidationFailed
from sandbox.settings import Settings

from .conftest import AUTH, ROOT, free_port

SCENARIOS = ROOT / "fixtures" / "scenarios"
ARCHIVED = SCENARIOS / "payments-archived-customer.yaml"
ARCHIVED_ID = "6f1c2a9e-0d4b-4c3e-9a7f-2b8d5e1f0a11"


def scenario(name: str) -> dict:
    return yaml.safe_load((SCENARIOS / name).read_text())


def assert_rejected(response, *fields: str) -> dict:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "validation_failed" and body["message"]
    named = [d["field"] for d in body["details"]]
    for field in fields:
        assert field in named, (field, body)
    return body


def test_every_shipped_scenario_loads_into_a_fresh_sandbox():
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert files
    app = create_app(Settings(fixtures=[str(p) for p in files if "empty" not in p.name]))
    assert app.test_client().get("/_sandbox/health").status_code == 200


def test_a_scenario_given_at_start_is_in_every_workspace_and_survives_reset():
    app = create_app(Settings(fixtures=[str(ARCHIVED)]))
    client = app.test_client()
    customer = client.get(f"/payments/customers/{ARCHIVED_ID}", headers=AUTH).get_json()
    assert customer["status"] == "archived" and customer["name"] == "Northwind Traders"
    users = client.get(f"/payments/customers/{ARCHIVED_ID}/users", headers=AUTH).get_json()["data"]
    assert [u["email"] for u in users] == ["nancy.davolio@northwind.example"]
    other = client.post("/_sandbox/workspaces").get_json()["token"]
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    assert client.post(f"/payments/customers/{ARCHIVED_ID}/restore", headers=AUTH).get_json()["status"] == "active"
    client.post("/_sandbox/reset", headers=AUTH)
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers=AUTH).get_json()["status"] == "archived"


def test_replace_empties_the_api_first(client):
    response = client.post("/_sandbox/fixtures", headers=AUTH, json=scenario("payments-empty.yaml"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["workspace"]["apis"]["payments"]["counts"] == {
        "customers": 0, "payment_methods": 0, "users": 0}
    page = client.get("/payments/customers", headers=AUTH).get_json()
    assert page["data"] == [] and page["page_info"]["has_next_page"] is False


def test_a_scenario_loaded_at_run_time_is_in_the_callers_workspace_only(client):
    response = client.post("/_sandbox/fixtures", headers=AUTH, json=scenario("payments-archived-customer.yaml"))
    assert response.status_code == 200
    assert response.get_json()["loaded"] == {"payments": {"customers": 1, "payment_methods": 1, "users": 1}}
    method = client.get(f"/payments/customers/{ARCHIVED_ID}/payment-methods", headers=AUTH).get_json()["data"]
    assert method[0]["card"]["last4"] == "4242"
    other = client.post("/_sandbox/workspaces").get_json()["token"]
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers={"Authorization": f"Bearer {other}"}).status_code == 404


def _broken(mutate) -> dict:
    data = scenario("payments-archived-customer.yaml")
    data = copy.deepcopy(data)
    mutate(data["payments"])
    return data


@pytest.mark.parametrize(("mutate", "fields"), [
    (lambda p: p["customers"][0].update(status="closed"), ["payments.customers[0].status"]),
    (lambda p: p["customers"][0].pop("name"), ["payments.customers[0].name"]),
    (lambda p: p["customers"][0].update(nickname="x"), ["payments.customers[0].nickname"]),
    (lambda p: p["users"][0].update(customer_id="00000000-0000-4000-8000-000000000000"),
     ["payments.users[0].customer_id"]),
    (lambda p: p["customers"].append(dict(p["customers"][0])), ["payments.customers[1].id"]),
    (lambda p: p.update(invoices=[]), ["payments.invoices"]),
    (lambda p: p["payment_methods"][0]["card"].update(last4="42"), ["payments.payment_methods[0].card"]),
], ids=["enum", "missing-field", "unknown-field", "dangling-parent", "duplicate-id", "unknown-collection",
        "nested-field"])
def test_a_bad_scenario_is_rejected_whole_naming_the_record_and_field(client, mutate, fields):
    before = client.get("/_sandbox/workspace", headers=AUTH).get_json()
    assert_rejected(client.post("/_sandbox/fixtures", headers=AUTH, json=_broken(mutate)), *fields)
    assert client.get("/_sandbox/workspace", headers=AUTH).get_json() == before
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers=AUTH).status_code == 404


def test_unknown_api_and_wrong_shapes_are_rejected(client):
    assert_rejected(client.post("/_sandbox/fixtures", headers=AUTH, json={"ledger": {}}), "ledger")
    response = client.post("/_sandbox/fixtures", headers=AUTH, json={"payments": {"customers": {}}})
    assert response.status_code == 422 and response.get_json()["details"][0]["field"].startswith("body.payments")


def test_a_bad_file_at_start_stops_start_up_with_the_record_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_broken(lambda p: p["customers"][0].update(ein="123"))))
    with pytest.raises(ValidationFailed, match=r"payments\.customers\[0\]\.ein"):
        create_app(Settings(fixtures=[str(bad)]))
    result = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--port", str(free_port()), "--fixtures", str(bad)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "cannot start" in result.stderr and "payments.customers[0].ein" in result.stderr


# -- a record is stored only if the server can serve, filter and page it -----------------

def _exemptions(mutate) -> dict:
    data = copy.deepcopy(scenario("exemptions-expiring-certificates.yaml"))
    mutate(data["exemptions"]["customers"][0])
    return data


@pytest.mark.parametrize(("data", "field", "then"), [
    (_broken(lambda p: p["customers"][0].update(created_at="0000-01-01T00:00:00Z")),
     "payments.customers[0].created_at", "/payments/customers?created_at_start=2020-01-01T00:00:00Z"),
    (_broken(lambda p: p["customers"][0].update(created_at="9999-12-31T23:59:60Z")),
     "payments.customers[0].created_at", "/payments/customers?created_at_end=2020-01-01T00:00:00Z"),
    (_exemptions(lambda c: c.pop("_source_platform")),
     "exemptions.customers[0]._source_platform", "/exemptions/customers?corporation_id=corp_123&source_platforms=shopify"),
    (_exemptions(lambda c: c.update(created_at=1.0e10)),
     "exemptions.customers[0].created_at", "/exemptions/customers?corporation_id=corp_123&limit=1"),
    (_broken(lambda p: p["customers"][0].update(city="\ud800")),
     "payments.customers[0]", "/payments/customers?limit=100"),
], ids=["year-0", "leap-second-at-the-end-of-time", "no-internal-field", "float-for-integer", "lone-surrogate"])
def test_a_record_the_server_could_not_serve_is_refused(client, data, field, then):
    """Each of these loaded before, and then made the reads that touch it a 500."""
    error = pytest.raises(ValidationFailed, check_scenario_of, client, data).value
    assert field in [d.field for d in error.details], error.details
    assert client.get(then, headers=AUTH).status_code == 200


def check_scenario_of(client, data) -> None:
    """Load ``data`` as a start-up file would be (JSON bodies cannot carry a lone surrogate)."""
    registry = client.application.extensions["sandbox"]["registry"]
    registry.load(registry.default, data, "scenario")


def test_a_huge_bad_scenario_answers_a_bounded_error_with_the_count_cut(client):
    records = [{"id": "x"}] * 20000  # about 220 KB: every record lacks every required field
    response = client.post("/_sandbox/fixtures", headers=AUTH, json={"payments": {"customers": records}})
    body = assert_rejected(response)
    assert len(body["details"]) == 50
    assert len(response.data) < 20000
    assert body["message"].endswith("(the details list the first 50 of 320000 problems)")


def test_loading_the_same_scenario_twice_replaces_its_records(client):
    for _ in range(2):
        response = client.post("/_sandbox/fixtures", headers=AUTH, json=scenario("payments-archived-customer.yaml"))
        assert response.status_code == 200
    users = client.get(f"/payments/customers/{ARCHIVED_ID}/users", headers=AUTH).get_json()["data"]
    assert len(users) == 1


def test_records_are_checked_without_holding_the_workspace_lock(client, monkeypatch):
    """A big scenario takes a while to check; reads of the same workspace must not wait for it."""
    import threading

    from sandbox.apis.sandbox import handlers

    workspace = client.application.extensions["sandbox"]["registry"].default
    free_while_checking = []

    def try_lock() -> None:
        free = workspace.lock.acquire(blocking=False)
        free_while_checking.append(free)
        if free:
            workspace.lock.release()

    def check(*args, **kwargs):
        probe = threading.Thread(target=try_lock)
        probe.start()
        probe.join()
        return real(*args, **kwargs)

    real = handlers.check_scenario
    monkeypatch.setattr(handlers, "check_scenario", check)
    response = client.post("/_sandbox/fixtures", headers=AUTH, json=scenario("payments-archived-customer.yaml"))
    assert response.status_code == 200
    assert free_while_checking == [True]
