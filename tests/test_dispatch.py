"""``sandbox.dispatch``: an operation is called without Flask's request context, and answers
exactly what it answers through Flask (the path a browser's request takes, for CORS)."""
from __future__ import annotations

import flask
import pytest

from sandbox.engine import routing

from .conftest import AUTH

ORIGIN = {"Origin": "http://docs.example"}
READS = ["/payments/customers?limit=3", "/payments/customers?limit=0", "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses",
         "/exemptions/customers?corporation_id=corp_123&limit=2", "/commerce/api/v1/businesses?o=5c0a7e1d-2b3f-4c8a-9d6e-1f2a3b4c5d6e&include=customers",
         "/commerce/api/v1/businesses?sort=colour", "/_sandbox/workspace", "/payments/customers/nope"]


@pytest.mark.parametrize("target", READS)
def test_an_operation_answers_the_same_bytes_directly_and_through_flask(read_client, target):
    direct = read_client.get(target, headers=AUTH)
    through_flask = read_client.get(target, headers={**AUTH, **ORIGIN})
    assert (direct.status_code, direct.get_data()) == (through_flask.status_code, through_flask.get_data())
    assert through_flask.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in direct.headers
    cors = {"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Date"}
    assert ({k: v for k, v in direct.headers.items() if k not in cors}
            == {k: v for k, v in through_flask.headers.items() if k not in cors})


def test_a_write_answers_the_same_directly_and_through_flask(client):
    body = {"name": "Direct Ltd", "email": "d@example.com"}
    direct = client.post("/payments/customers", json=body, headers=AUTH)
    through_flask = client.post("/payments/customers", json=body, headers={**AUTH, **ORIGIN})
    assert direct.status_code == through_flask.status_code == 201
    assert client.get(f"/payments/customers/{direct.get_json()['id']}", headers=AUTH).get_json() == direct.get_json()


def test_an_operation_runs_without_flasks_request_context(client, monkeypatch):
    seen = []
    original = routing.Context.__init__

    def spy(self, *args, **kwargs):
        seen.append(flask.has_request_context())
        original(self, *args, **kwargs)

    monkeypatch.setattr(routing.Context, "__init__", spy)
    assert client.get("/payments/customers?limit=1", headers=AUTH).status_code == 200
    assert client.get("/payments/customers?limit=1", headers={**AUTH, **ORIGIN}).status_code == 200
    assert seen == [False, True]


def test_an_unexpected_error_in_an_operation_is_a_500_in_the_apis_shape(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(routing.Context, "__init__", broken)
    target = "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses"
    response = client.get(target, headers=AUTH)
    assert response.status_code == 500
    assert response.get_json() == {"error": {"status": 500, "code": "internal_error", "details": [],
                                             "message": "The sandbox failed; this is a bug."}}


def test_what_is_not_an_operation_still_goes_through_flask(client):
    assert client.get("/docs/").status_code == 200
    missing = client.get("/payments/nowhere", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    wrong = client.put("/payments/customers", headers=AUTH)
    assert wrong.status_code == 405 and wrong.headers["Allow"]
