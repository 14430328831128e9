"""Commerce's JSON:API documents over shared seeded data: a business's customers come from
an index of the seeded customers while a workspace has not changed one, and from the
workspace's own customers once it has, so every workspace sees exactly its own."""
from __future__ import annotations

from sandbox import create_app
from sandbox.settings import Settings

from .conftest import AUTH

ORG = "5c0a7e1d-2b3f-4c8a-9d6e-1f2a3b4c5d6e"
ACME = "0b9f3c2e-6d1a-4f57-9a8e-2c4d7b1e5f03"
URL = f"/commerce/api/v1/businesses/{ACME}?o={ORG}&include=customers"


def customer_ids(client, headers) -> list[str]:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    linked = [c["id"] for c in body["data"]["relationships"]["customers"]["data"]]
    assert linked == [r["id"] for r in body.get("included", []) if r["type"] == "customers"]
    return linked


def test_each_workspace_sees_the_customers_it_gave_a_business():
    client = create_app(Settings(seed=42)).test_client()
    other = {"Authorization": f"Bearer {client.post('/_sandbox/workspaces', json={}).get_json()['token']}"}
    seeded = customer_ids(client, AUTH)
    assert seeded and customer_ids(client, other) == seeded
    checkout = client.post("/_sandbox/commerce/checkouts", headers=AUTH,
                           json={"organization_id": ORG, "email": "jane@acme.com", "company_name": "ACME Inc."})
    assert checkout.status_code == 200, checkout.get_json()
    joined = checkout.get_json()["customer"]["id"]
    assert customer_ids(client, AUTH) == seeded + [joined]  # newest last: lists are ordered by created_at
    assert customer_ids(client, other) == seeded
    assert client.post("/_sandbox/workspace/reset", headers=AUTH).status_code == 200
    assert customer_ids(client, AUTH) == seeded
