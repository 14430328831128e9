"""The first hostile look's findings, each as it was reported (test_hostile.py covers their
siblings on every operation)."""
from __future__ import annotations

import json

import pytest

from sandbox import create_app
from sandbox.engine.errors import MAX_DETAILS
from sandbox.engine.validation import MAX_BODY
from sandbox.settings import Settings

from .conftest import AUTH

JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}


def _customer(client) -> str:
    return client.get("/payments/customers?limit=1", headers=AUTH).get_json()["data"][0]["id"]


@pytest.mark.parametrize("path", ["/payments/customers", "/_sandbox/fixtures"])
def test_json_nested_300_deep_is_a_400_not_a_500(client, path):
    response = client.post(path, headers=JSON_HEADERS, data='{"a":' * 300 + "1" + "}" * 300)
    assert response.status_code == 400
    assert response.get_json()["details"] == [{"field": "body", "message": "nests deeper than 32 levels"}]


def test_a_5mb_value_is_refused_with_413_before_parsing(client):
    response = client.post("/payments/customers", headers=JSON_HEADERS, data=json.dumps({"name": "x" * 5_000_000}))
    assert response.status_code == 413
    assert response.get_json()["details"] == [{"field": "body", "message": f"is larger than {MAX_BODY} bytes"}]


def test_an_error_quotes_a_bounded_prefix_of_a_bad_value(client):
    response = client.post("/payments/customers", headers=JSON_HEADERS, data=json.dumps({"name": "x" * 500_000}))
    assert response.status_code == 422
    assert len(response.data) < 2000
    detail = next(d for d in response.get_json()["details"] if d["field"] == "body.name")
    assert detail["message"].startswith('"xxxx') and "(500002 characters) is longer than 255 characters" in detail["message"]


def test_many_problems_are_capped_and_counted(client):
    body = {f"unknown_{i}": 1 for i in range(300)}
    response = client.post("/payments/customers", headers=JSON_HEADERS, data=json.dumps(body))
    document = response.get_json()
    assert response.status_code == 422 and len(document["details"]) == MAX_DETAILS
    assert document["message"].endswith(f"(the details list the first {MAX_DETAILS} of 300 problems)")


def test_an_empty_body_with_a_json_content_type_is_no_body_where_the_body_is_optional(client):
    response = client.post("/_sandbox/workspaces", headers={"Content-Type": "application/json"}, data=b"")
    assert response.status_code == 201 and response.get_json()["token"]


def test_an_empty_body_where_one_is_required_says_so(client):
    response = client.post("/payments/customers", headers=JSON_HEADERS, data=b"")
    assert response.status_code == 400
    assert response.get_json()["details"] == [{"field": "body", "message": "is required"}]


def test_a_lone_surrogate_in_a_patch_is_refused_and_saves_nothing(client):
    customer = _customer(client)
    before = client.get(f"/payments/customers/{customer}", headers=AUTH).get_json()
    response = client.patch(f"/payments/customers/{customer}", headers=JSON_HEADERS, data='{"city":"\\ud800"}')
    assert response.status_code == 400 and "surrogate" in response.get_json()["message"]
    assert client.get(f"/payments/customers/{customer}", headers=AUTH).get_json() == before
    assert client.get("/payments/customers?limit=100", headers=AUTH).status_code == 200


@pytest.mark.parametrize("path", ["/payments/customers", "/payments/customers/{id}/users"])
def test_a_lone_surrogate_in_a_create_stores_nothing(client, path):
    customer = _customer(client)
    url = path.format(id=customer)
    before = client.get(url, headers=AUTH).get_json()["data"] if "users" in url else None
    response = client.post(url, headers=JSON_HEADERS,
                           data='{"email": "a@b.co", "first_name": "\\ud800", "last_name": "x", "name": "\\ud800"}')
    assert response.status_code == 400
    if before is not None:
        assert client.get(url, headers=AUTH).get_json()["data"] == before
    assert client.post("/payments/customers", headers=AUTH, json={"name": "After"}).status_code in (201, 422)


@pytest.mark.parametrize("value", ["9999-12-31T23:59:60Z", "0001-01-01T00:00:00%2B14:00"])
@pytest.mark.parametrize("name", ["created_at_start", "created_at_end"])
def test_dates_at_the_edge_of_time_are_a_400(client, name, value):
    response = client.get(f"/payments/customers?{name}={value}", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["details"][0] == {
        "field": f"query.{name}", "message": "is outside the dates the sandbox handles (0001-01-02 to 9999-12-30)"}


def test_a_leap_second_inside_the_range_still_works(client):
    response = client.get("/payments/customers?created_at_start=2016-12-31T23:59:60Z&limit=1", headers=AUTH)
    assert response.status_code == 200


def test_dates_at_the_edge_of_time_are_a_400_even_without_validation():
    client = create_app(Settings(validate=False)).test_client()
    response = client.get("/payments/customers?created_at_start=9999-12-31T23:59:60Z", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["details"] == [{"field": "query.created_at_start",
                                               "message": "is outside the dates the sandbox handles (0001-01-02 to 9999-12-30)"}]
