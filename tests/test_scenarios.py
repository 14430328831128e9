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

from .conftest import AUTH, ROOT

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
    result = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--port", "9", "--fixtures", str(bad)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "cannot start" in result.stderr and "payments.customers[0].ein" in result.stderr
