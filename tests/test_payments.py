"""The payments API against its contract (openapi/payments.yaml): happy path, every way a
request can be wrong, keyset pagination, determinism and workspace isolation."""
from __future__ import annotations

import base64
import re

import pytest

from fixtures.places import us_places
from sandbox import create_app
from sandbox.engine.spec import load_spec
from sandbox.settings import Settings

from .conftest import AUTH

P = "/payments"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
FORM = "application/x-www-form-urlencoded"
NEW_CUSTOMER = {
    "name": "Zyxwv Walkthrough Co", "legal_name": "Zyxwv Walkthrough Co Inc.", "email": "billing@zyxwv.com",
    "ein": "12-3456789", "external_id": "crm-000123", "street_address": "123 Main St", "sub_premise": "Apt 1",
    "city": "New York", "state": "NY", "postal_code": "10001", "country": "USA",
}


# -- helpers ----------------------------------------------------------------------------

def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def assert_error(resp, status: int, code: str, field: str | None = None) -> dict:
    """The one payments error shape, with ``code`` and (if given) a detail naming ``field``."""
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], list), body
    for detail in body["details"]:
        assert set(detail) == {"field", "message"} and all(isinstance(v, str) and v for v in detail.values()), body
    if field is not None:
        assert field in [d["field"] for d in body["details"]], body
    return body


def assert_oauth_error(resp, status: int, code: str) -> dict:
    """RFC 6749 §5.2's error body, the only one the token route answers with."""
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error", "error_description"} and body["error"] == code, body
    assert body["error_description"] and all(c not in body["error_description"] for c in '"\\'), body
    assert all(" " <= c <= "~" for c in body["error_description"]), body
    return body


def ok(resp, status: int = 200):
    assert resp.status_code == status, resp.data
    return resp.get_json()


def token(client, client_id: str = "sandbox", secret: str = "sandbox-token") -> str:
    body = ok(client.post(f"{P}/oauth/token", data={"grant_type": "client_credentials",
                                                     "client_id": client_id, "client_secret": secret}))
    return body["access_token"]


def walk(client, path: str, limit: int, headers=AUTH, between=lambda: None) -> tuple[list[dict], list[dict]]:
    """Every item of a list, page by page forward via ``after``; also returns each page_info."""
    items, infos, query = [], [], f"limit={limit}"
    while True:
        page = ok(client.get(f"{path}?{query}", headers=headers))
        items += page["data"]
        infos.append(page["page_info"])
        if not page["page_info"]["has_next_page"]:
            return items, infos
        query = f"limit={limit}&after={page['page_info']['end_cursor']}"
        between()


def walk_back(client, path: str, limit: int, before: str, headers=AUTH) -> tuple[list[dict], list[dict]]:
    """Every item before ``before`` (a start_cursor), page by page backward, in list order."""
    items, infos = [], []
    while True:
        page = ok(client.get(f"{path}?limit={limit}&before={before}", headers=headers))
        items = page["data"] + items
        infos.append(page["page_info"])
        assert page["page_info"]["has_next_page"] is True
        if not page["page_info"]["has_previous_page"]:
            return items, infos
        before = page["page_info"]["start_cursor"]


def ids(items) -> list[str]:
    return [item["id"] for item in items]


def sort_key(item) -> tuple[str, str]:
    return item["created_at"], item["id"]


@pytest.fixture(scope="module")
def seeded(read_client) -> dict[str, str]:
    """Ids from the seed-42 data: active customers, one with > 10 users, one with users and a payment method."""
    customers = ok(read_client.get(f"{P}/customers?limit=100", headers=AUTH))["data"]
    found = {"customer": customers[0]["id"], "active": ids(customers)}
    for c in customers:
        users = ok(read_client.get(f"{P}/customers/{c['id']}/users?limit=10", headers=AUTH))
        methods = ok(read_client.get(f"{P}/customers/{c['id']}/payment-methods", headers=AUTH))["data"]
        if users["data"] and "user" not in found:
            found["user_owner"], found["user"] = c["id"], users["data"][0]["id"]
        if users["page_info"]["has_next_page"] and "many_users" not in found:
            found["many_users"] = c["id"]
        elif users["data"] and "other_users" not in found:
            found["other_users"] = c["id"]
        if methods and users["data"] and "with_pm" not in found:  # both lists: nested cursors are compared
            found["with_pm"], found["pm"] = c["id"], methods[0]["id"]
    assert {"many_users", "other_users", "with_pm"} <= set(found)
    return found


def fill(template: str, seeded) -> str:
    return P + template.format(id=seeded["customer"], pm_owner=seeded["with_pm"], pm=seeded["pm"],
                               user_owner=seeded["user_owner"], user=seeded["user"])


# -- 1. happy path ----------------------------------------------------------------------

def test_token_route_issues_bearer_tokens_from_the_form_and_from_basic(client):
    for kwargs in ({"data": {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox-token"}},
                   {"data": {"grant_type": "client_credentials"}, "headers": basic("sandbox", "sandbox-token")}):
        resp = client.post(f"{P}/oauth/token", **kwargs)
        body = ok(resp)
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
        assert resp.headers["Cache-Control"] == "no-store"
        assert ok(client.get(f"{P}/customers?limit=1", headers=bearer(body["access_token"])))["data"]


def test_readme_walkthrough(client, seeded):
    auth = bearer(token(client))
    resp = client.post(f"{P}/customers", json=NEW_CUSTOMER, headers=auth)
    created = ok(resp, 201)
    cid = created["id"]
    assert resp.headers["Location"] == f"{P}/customers/{cid}"
    assert {k: created[k] for k in NEW_CUSTOMER} == NEW_CUSTOMER
    assert created["status"] == "active" and created["archived_at"] is None
    assert created["created_at"] == created["updated_at"]
    assert ok(client.get(f"{P}/customers/{cid}", headers=auth)) == created

    patched = ok(client.patch(f"{P}/customers/{cid}", json={"city": "Boston", "sub_premise": None}, headers=auth))
    assert patched == {**created, "city": "Boston", "sub_premise": None, "updated_at": patched["updated_at"]}
    assert patched["updated_at"] > created["updated_at"]
    assert ok(client.get(f"{P}/customers/{cid}", headers=auth)) == patched

    first = ok(client.get(f"{P}/customers?limit=3", headers=auth))
    assert first["page_info"]["has_previous_page"] is False and first["page_info"]["has_next_page"] is True
    second = ok(client.get(f"{P}/customers?limit=3&after={first['page_info']['end_cursor']}", headers=auth))
    assert second["page_info"]["has_previous_page"] is True and not set(ids(second["data"])) & set(ids(first["data"]))
    back = ok(client.get(f"{P}/customers?limit=3&before={second['page_info']['start_cursor']}", headers=auth))
    assert back == first

    by_name = f"{P}/customers?company_name=zyxwv walkthrough"
    assert ids(ok(client.get(by_name, headers=auth))["data"]) == [cid]
    archived = ok(client.delete(f"{P}/customers/{cid}", headers=auth))
    assert archived["status"] == "archived" and archived["archived_at"] == archived["updated_at"]
    assert archived["archived_at"] > patched["updated_at"]
    assert ok(client.get(f"{P}/customers/{cid}", headers=auth)) == archived
    assert ok(client.get(by_name, headers=auth)) == {"data": [], "page_info": {
        "start_cursor": None, "end_cursor": None, "has_next_page": False, "has_previous_page": False}}
    restored = ok(client.post(f"{P}/customers/{cid}/restore", headers=auth))
    assert restored["status"] == "active" and restored["archived_at"] is None
    assert ids(ok(client.get(by_name, headers=auth))["data"]) == [cid]

    owner, pm = seeded["with_pm"], seeded["pm"]
    methods = ok(client.get(f"{P}/customers/{owner}/payment-methods", headers=auth))["data"]
    assert methods and {m["customer_id"] for m in methods} == {owner}
    assert methods == sorted(methods, key=sort_key)
    method = ok(client.get(f"{P}/customers/{owner}/payment-methods/{pm}", headers=auth))
    assert method == next(m for m in methods if m["id"] == pm)
    assert (method["card"] is None) == (method["type"] != "card")

    user_in = {"email": "jane.doe@zyxwv.com", "first_name": "Jane", "last_name": "Doe"}
    resp = client.post(f"{P}/customers/{cid}/users", json=user_in, headers=auth)
    user = ok(resp, 201)
    assert {k: user[k] for k in user_in} == user_in and user["customer_id"] == cid
    assert resp.headers["Location"] == f"{P}/customers/{cid}/users/{user['id']}"
    assert ok(client.get(resp.headers["Location"], headers=auth)) == user
    assert ok(client.get(f"{P}/customers/{cid}/users", headers=auth))["data"] == [user]
    seeded_users = f"{P}/customers/{seeded['many_users']}/users"
    user = ok(client.post(seeded_users, json=user_in, headers=auth), 201)
    assert walk(client, seeded_users, 100, auth)[0][-1] == user


# -- 2. bad input -----------------------------------------------------------------------

OPS = {  # operationId -> (method, path, a valid JSON body)
    "listCustomers": ("GET", "/customers", None),
    "createCustomer": ("POST", "/customers", {"name": "X"}),
    "getCustomer": ("GET", "/customers/{id}", None),
    "patchCustomer": ("PATCH", "/customers/{id}", {"city": "X"}),
    "archiveCustomer": ("DELETE", "/customers/{id}", None),
    "restoreCustomer": ("POST", "/customers/{id}/restore", None),
    "listPaymentMethods": ("GET", "/customers/{id}/payment-methods", None),
    "getPaymentMethod": ("GET", "/customers/{pm_owner}/payment-methods/{pm}", None),
    "listCustomerUsers": ("GET", "/customers/{id}/users", None),
    "createCustomerUser": ("POST", "/customers/{id}/users", {"email": "a@example.com"}),
    "getCustomerUser": ("GET", "/customers/{user_owner}/users/{user}", None),
}
WITH_ID = [op for op, (_, path, _) in OPS.items() if "{" in path]
LISTS = ["listCustomers", "listPaymentMethods", "listCustomerUsers"]
JSON_BODIES = ["createCustomer", "patchCustomer", "createCustomerUser"]


def call(client, op: str, seeded, headers=AUTH, query: str = "", **kwargs):
    method, path, body = OPS[op]
    if body is not None and not kwargs:
        kwargs = {"json": body}
    return client.open(fill(path, seeded) + query, method=method, headers=headers, **kwargs)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(("headers", "challenge"), [
    ({}, 'Bearer realm="payments"'),
    (bearer("not-a-token"), 'Bearer realm="payments", error="invalid_token"'),
    (basic("sandbox", "sandbox-token"), 'Bearer realm="payments"'),
], ids=["missing", "invalid", "basic"])
def test_every_operation_needs_a_valid_bearer_token(read_client, seeded, op, headers, challenge):
    resp = call(read_client, op, seeded, headers=headers)
    assert_error(resp, 401, "unauthorized", "header.Authorization")
    assert resp.headers["WWW-Authenticate"] == challenge


@pytest.mark.parametrize("op", WITH_ID)
@pytest.mark.parametrize("customer", ["not-a-uuid", "12345", "cus_123", UNKNOWN_ID])
def test_any_customer_id_is_taken_and_an_id_of_nothing_is_a_404(read_client, seeded, op, customer):
    """The document types ids as "string": no id form is refused, an unknown one is not found."""
    ids_ = {**seeded, "customer": customer, "with_pm": customer, "user_owner": customer}
    assert_error(call(read_client, op, ids_), 404, "not_found", "path.id")


@pytest.mark.parametrize("pm", ["not-a-uuid", "12345", UNKNOWN_ID, "other"])
def test_payment_method_id_unknown_or_of_another_customer(read_client, seeded, pm):
    owner = seeded["with_pm"] if pm != "other" else next(c for c in seeded["active"] if c != seeded["with_pm"])
    pm = seeded["pm"] if pm == "other" else pm
    resp = read_client.get(f"{P}/customers/{owner}/payment-methods/{pm}", headers=AUTH)
    assert_error(resp, 404, "not_found", "path.payment_method_id")


@pytest.mark.parametrize("user", ["not-a-uuid", UNKNOWN_ID, "other"])
def test_user_id_unknown_or_of_another_customer(read_client, seeded, user):
    owner = seeded["user_owner"] if user != "other" else next(c for c in seeded["active"] if c != seeded["user_owner"])
    user = seeded["user"] if user == "other" else user
    assert_error(read_client.get(f"{P}/customers/{owner}/users/{user}", headers=AUTH), 404, "not_found", "path.user_id")


@pytest.mark.parametrize("op", LISTS)
@pytest.mark.parametrize(("query", "code", "field"), [
    ("?limit=0", "invalid_request", "query.limit"),
    ("?limit=101", "invalid_request", "query.limit"),
    ("?limit=abc", "invalid_request", "query.limit"),
    ("?limit=1.5", "invalid_request", "query.limit"),
    ("?limit=5&limit=6", "invalid_request", "query.limit"),
    ("?after=garbage", "invalid_cursor", "query.after"),
    ("?before=eyJrIjpbXX0", "invalid_cursor", "query.before"),
])
def test_list_parameters(read_client, seeded, op, query, code, field):
    assert_error(call(read_client, op, seeded, query=query), 400, code, field)


@pytest.mark.parametrize("op", LISTS)
@pytest.mark.parametrize("query", ["?after=", "?before=", "?after=&before=", "?limit=10&after="])
def test_an_empty_cursor_means_the_first_page(read_client, seeded, op, query):
    """Document 004: "For the first page, this should be left empty"."""
    assert ok(call(read_client, op, seeded, query=query)) == ok(call(read_client, op, seeded))


@pytest.mark.parametrize("op", LISTS)
def test_after_and_before_together(read_client, seeded, op):
    info = ok(call(read_client, op, seeded, query="?limit=1"))["page_info"]
    query = f"?after={info['end_cursor']}&before={info['start_cursor']}"
    assert_error(call(read_client, op, seeded, query=query), 400, "invalid_request", "query.before")


@pytest.mark.parametrize(("query", "field"), [
    ("created_at_start=yesterday", "query.created_at_start"),
    ("created_at_start=2024-02-30", "query.created_at_start"),
    ("created_at_end=01/02/2024", "query.created_at_end"),
    ("created_at_end=2024-13-01T00:00:00Z", "query.created_at_end"),
    ("company_name=", "query.company_name"),
])
def test_list_customers_filters(read_client, query, field):
    assert_error(read_client.get(f"{P}/customers?{query}", headers=AUTH), 400, "invalid_request", field)


def test_created_at_filter_accepts_every_rfc3339_date_time_or_names_the_parameter(read_client):
    """A leap second is an RFC 3339 date-time (the validator lets it through to the handler)."""
    resp = read_client.get(f"{P}/customers?created_at_start=2016-12-31T23:59:60Z", headers=AUTH)
    if resp.status_code != 200:
        assert_error(resp, 400, "invalid_request", "query.created_at_start")


def test_created_at_filters_are_inclusive_bounds(read_client, seeded):
    everyone = ok(read_client.get(f"{P}/customers?limit=100", headers=AUTH))["data"]
    lo, hi = everyone[5]["created_at"], everyone[9]["created_at"]
    page = ok(read_client.get(f"{P}/customers?limit=100&created_at_start={lo}&created_at_end={hi}", headers=AUTH))
    assert page["data"] == everyone[5:10]


def test_created_at_filters_take_rfc3339_full_dates_as_whole_days(read_client):
    """RFC 3339 defines full-date too: `2024-01-01` is a 200, and both bounds include the whole day."""
    everyone = walk(read_client, f"{P}/customers", 100)[0]
    day = everyone[len(everyone) // 2]["created_at"][:10]
    same_day = [c for c in everyone if c["created_at"].startswith(day)]
    page = ok(read_client.get(f"{P}/customers?limit=100&created_at_start={day}&created_at_end={day}", headers=AUTH))
    assert same_day and page["data"] == same_day
    later = ok(read_client.get(f"{P}/customers?limit=100&created_at_start={day}", headers=AUTH))["data"]
    assert later == [c for c in everyone if c["created_at"][:10] >= day][:100]


def test_a_created_at_window_pages_both_ways_like_the_filtered_list(read_client):
    """The range scan jumps to its bounds; forward and backward pages still cover exactly the window."""
    everyone = walk(read_client, f"{P}/customers", 100)[0]
    lo, hi = everyone[7]["created_at"], everyone[30]["created_at"][:10]
    window = f"created_at_start={lo}&created_at_end={hi}"
    expected = [c for c in everyone if lo <= c["created_at"] and c["created_at"][:10] <= hi]
    got, query = [], f"limit=4&{window}"
    while True:
        page = ok(read_client.get(f"{P}/customers?{query}", headers=AUTH))
        got += page["data"]
        if not page["page_info"]["has_next_page"]:
            break
        query = f"limit=4&{window}&after={page['page_info']['end_cursor']}"
    assert len(expected) > 8 and got == expected
    back, last, cursor = [], len(page["data"]), page["page_info"]["start_cursor"]
    while True:
        page = ok(read_client.get(f"{P}/customers?limit=3&{window}&before={cursor}", headers=AUTH))
        back = page["data"] + back
        if not page["page_info"]["has_previous_page"]:
            break
        cursor = page["page_info"]["start_cursor"]
    assert back == expected[:-last]


def test_a_created_at_window_finds_imported_records_written_with_an_offset(client):
    """The order compares text; a record imported as `...+05:00` is still found by its instant."""
    exported = client.get("/_sandbox/workspace/export", headers=AUTH).get_json()
    customers = exported["data"]["payments"]["customers"]
    moved = customers[0]
    moved["created_at"] = "2030-01-01T03:00:00+05:00"  # 2029-12-31T22:00:00Z
    ok(client.post("/_sandbox/workspace/import", json=exported, headers=AUTH))
    for window in ("created_at_start=2029-12-31T21:00:00Z&created_at_end=2029-12-31T23:00:00Z",
                   "created_at_start=2029-12-31&created_at_end=2029-12-31", "created_at_end=2029-12-31T22:00:00Z"):
        found = ok(client.get(f"{P}/customers?limit=100&{window}", headers=AUTH))["data"]
        assert moved["id"] in ids(found), window
    later = ok(client.get(f"{P}/customers?limit=100&created_at_start=2030-01-01", headers=AUTH))["data"]
    assert moved["id"] not in ids(later)


def test_cursors_only_work_with_the_query_they_came_from(read_client, seeded):
    get = lambda path: ok(read_client.get(P + path, headers=AUTH))["page_info"]["end_cursor"]  # noqa: E731
    filtered = get("/customers?limit=2&company_name=a")
    assert_error(read_client.get(f"{P}/customers?after={filtered}", headers=AUTH), 400, "invalid_cursor", "query.after")
    assert_error(read_client.get(f"{P}/customers?before={filtered}&company_name=b", headers=AUTH),
                 400, "invalid_cursor", "query.before")
    plain = get("/customers?limit=2")
    assert_error(read_client.get(f"{P}/customers?after={plain}&company_name=a", headers=AUTH),
                 400, "invalid_cursor", "query.after")
    a, b = seeded["many_users"], seeded["other_users"]
    users_of_a = get(f"/customers/{a}/users?limit=2")
    assert_error(read_client.get(f"{P}/customers/{b}/users?after={users_of_a}", headers=AUTH),
                 400, "invalid_cursor", "query.after")
    assert_error(read_client.get(f"{P}/customers?after={users_of_a}", headers=AUTH), 400, "invalid_cursor", "query.after")
    assert_error(read_client.get(f"{P}/customers/{a}/users?after={plain}", headers=AUTH),
                 400, "invalid_cursor", "query.after")
    tampered = plain[:-2] + ("A" if plain[-2] != "A" else "B") + plain[-1]
    assert_error(read_client.get(f"{P}/customers?after={tampered}", headers=AUTH), 400, "invalid_cursor", "query.after")


SCHEMA_VIOLATIONS = [  # (operation, body, the field the detail names)
    ("createCustomer", {"name": 5}, "body.name"),
    ("createCustomer", {"ein": "123"}, "body.ein"),
    ("createCustomer", {"email": "not-an-email"}, "body.email"),
    ("createCustomer", {"nickname": "x"}, "body.nickname"),
    ("createCustomer", ["name"], "body"),
    ("patchCustomer", {"name": 5}, "body.name"),
    ("patchCustomer", {"ein": "123"}, "body.ein"),
    ("patchCustomer", {"nickname": "x"}, "body.nickname"),
    ("patchCustomer", {"email": "a@example.com"}, "body.email"),  # email is not patchable
    ("patchCustomer", "x", "body"),
    ("createCustomerUser", {"first_name": 5}, "body.first_name"),
    ("createCustomerUser", {"email": "not-an-email"}, "body.email"),
    ("createCustomerUser", {"nickname": "x"}, "body.nickname"),
    ("createCustomerUser", 7, "body"),
]


@pytest.mark.parametrize(("op", "body", "field"), SCHEMA_VIOLATIONS)
def test_json_bodies_against_their_schema(read_client, seeded, op, body, field):
    error = assert_error(call(read_client, op, seeded, json=body), 422, "validation_failed", field)
    if field == "body" and body and isinstance(body, dict):
        assert next(iter(body)) in error["details"][0]["message"]  # names the unexpected property


def test_an_empty_patch_changes_nothing(read_client, seeded):
    cid = seeded["customer"]
    before = ok(read_client.get(f"{P}/customers/{cid}", headers=AUTH))
    assert ok(read_client.patch(f"{P}/customers/{cid}", json={}, headers=AUTH)) == before


def test_null_on_create_means_not_set(client):
    created = ok(client.post(f"{P}/customers", json={"name": "Nullable Co", "ein": None, "email": None,
                                                      "city": None}, headers=AUTH), 201)
    assert created["name"] == "Nullable Co" and created["ein"] is None and created["city"] is None
    user = ok(client.post(f"{P}/customers/{created['id']}/users", json={"email": None, "first_name": "Al"},
                          headers=AUTH), 201)
    assert user["email"] is None and user["first_name"] == "Al"


@pytest.mark.parametrize(("source", "target"), [("users", "payment-methods"), ("payment-methods", "users")])
def test_a_nested_cursor_does_not_fit_the_other_list_of_the_same_customer(read_client, seeded, source, target):
    """Spec: a cursor is bound to the query that produced it; users and payment methods are two queries."""
    owner = seeded["with_pm"]
    page = ok(read_client.get(f"{P}/customers/{owner}/{source}?limit=1", headers=AUTH))
    assert page["data"], "the customer needs items in both lists"
    resp = read_client.get(f"{P}/customers/{owner}/{target}?after={page['page_info']['end_cursor']}", headers=AUTH)
    assert_error(resp, 400, "invalid_cursor", "query.after")


@pytest.mark.parametrize("op", JSON_BODIES)
@pytest.mark.parametrize(("kwargs", "status", "code", "field"), [
    ({"data": b'{"name": ', "content_type": "application/json"}, 400, "invalid_request", "body"),
    ({"data": b'{"name": NaN}', "content_type": "application/json"}, 400, "invalid_request", "body"),
    ({"data": b"\xff\xfe", "content_type": "application/json"}, 400, "invalid_request", "body"),
    ({"data": b'{"name": "x"}', "content_type": "text/plain"}, 415, "unsupported_media_type", "header.Content-Type"),
    ({"data": b""}, 400, "invalid_request", "body"),
], ids=["malformed-json", "nan", "not-utf8", "text-plain", "missing"])
def test_json_bodies_malformed(read_client, seeded, op, kwargs, status, code, field):
    assert_error(call(read_client, op, seeded, **kwargs), status, code, field)


def test_status_conflicts(client, seeded):
    cid = seeded["customer"]
    assert_error(client.post(f"{P}/customers/{cid}/restore", headers=AUTH), 409, "conflict", "path.id")
    assert ok(client.delete(f"{P}/customers/{cid}", headers=AUTH))["status"] == "archived"
    assert_error(client.delete(f"{P}/customers/{cid}", headers=AUTH), 409, "conflict", "path.id")
    assert_error(client.patch(f"{P}/customers/{cid}", json={"city": "X"}, headers=AUTH), 409, "conflict", "path.id")
    assert_error(client.post(f"{P}/customers/{cid}/users", json={}, headers=AUTH), 409, "conflict", "path.id")
    assert ok(client.get(f"{P}/customers/{cid}", headers=AUTH))["city"] != "X"
    assert ok(client.post(f"{P}/customers/{cid}/restore", headers=AUTH))["status"] == "active"


GOOD_FORM = {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox-token"}


@pytest.mark.parametrize(("kwargs", "status", "code", "names"), [
    ({"data": {**GOOD_FORM, "client_secret": "wrong"}}, 401, "invalid_client", "secret"),
    ({"data": {**GOOD_FORM, "client_id": "nobody"}}, 401, "invalid_client", "client"),
    ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client", "client"),
    ({"data": {"grant_type": "client_credentials"}, "headers": basic("sandbox", "wrong")},
     401, "invalid_client", "secret"),
    ({"data": GOOD_FORM, "headers": basic("sandbox", "sandbox-token")}, 400, "invalid_request", "Basic"),
    ({"data": {**GOOD_FORM, "grant_type": "password"}}, 400, "unsupported_grant_type", "client_credentials"),
    ({"data": {"client_id": "sandbox", "client_secret": "sandbox-token"}}, 400, "invalid_request", "grant_type"),
    ({"data": {**GOOD_FORM, "grant_type": ""}}, 400, "invalid_request", "grant_type"),
    ({"data": {**GOOD_FORM, "client_id": ""}}, 400, "invalid_request", "client_id"),
    ({"data": b"grant_type=client_credentials&grant_type=client_credentials", "content_type": FORM},
     400, "invalid_request", "grant_type"),
    ({"data": b"\xff\xfe", "content_type": FORM}, 400, "invalid_request", "UTF-8"),
    ({"json": GOOD_FORM}, 400, "invalid_request", "x-www-form-urlencoded"),
    ({}, 400, "invalid_request", "body"),
], ids=["wrong-secret", "unknown-client", "no-credentials", "basic-wrong-secret", "form-and-basic",
        "unknown-grant", "no-grant", "empty-grant", "empty-client-id", "repeated-field", "not-utf8", "json",
        "missing"])
def test_token_route_errors_are_rfc6749_errors(read_client, kwargs, status, code, names):
    """Every error of the token route, a missing grant_type included, is RFC 6749 §5.2's
    ``{error, error_description}``: 401 invalid_client or 400."""
    resp = read_client.post(f"{P}/oauth/token", **kwargs)
    assert names in assert_oauth_error(resp, status, code)["error_description"]
    if status == 401:
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="payments"'
    assert "access_token" not in resp.get_json()


def test_token_route_ignores_unrecognized_parameters(read_client):
    """RFC 6749 §3.2: the token endpoint MUST ignore unrecognized request parameters."""
    body = ok(read_client.post(f"{P}/oauth/token", data={**GOOD_FORM, "nickname": "x", "audience": "y"}))
    assert body["token_type"] == "Bearer" and body["access_token"]


def test_unknown_grant_type_gets_the_rfc6749_error():
    """Any grant other than client_credentials is RFC 6749's 400 unsupported_grant_type,
    which OAuth2 client libraries understand; the spec leaves grant_type an open string."""
    op = load_spec("payments").raw["paths"]["/oauth/token"]["post"]
    schema = op["requestBody"]["content"][FORM]["schema"]
    assert "enum" not in schema["properties"]["grant_type"]
    assert "unsupported_grant_type" in load_spec("payments").raw["components"]["schemas"]["OAuthError"]["properties"]["error"]["enum"]


@pytest.mark.parametrize("path", ["/nope", "/customers/", f"/customers/{UNKNOWN_ID}/nope", "/oauth", ""])
def test_unknown_routes_answer_404_in_the_payments_shape(read_client, path):
    body = assert_error(read_client.get(P + path, headers=AUTH), 404, "not_found")
    assert body["details"] == [] and P in body["message"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/customers", {"GET", "POST"}),
    ("POST", f"/customers/{UNKNOWN_ID}", {"GET", "PATCH", "DELETE"}),
    ("GET", "/oauth/token", {"POST"}),
    ("DELETE", f"/customers/{UNKNOWN_ID}/restore", {"POST"}),
    ("PATCH", f"/customers/{UNKNOWN_ID}/users", {"GET", "POST"}),
])
def test_unsupported_methods_answer_405_with_allow(read_client, method, path, allowed):
    resp = read_client.open(P + path, method=method, headers=AUTH)
    body = assert_error(resp, 405, "method_not_allowed")
    assert body["details"] == [] and method in body["message"]
    assert set(resp.headers["Allow"].split(", ")) - {"HEAD"} == allowed


# -- 3. pagination ----------------------------------------------------------------------

def check_walk(client, path: str, limit: int, expected: list[dict], create) -> None:
    """Forward with ``limit`` while ``create`` adds an item between pages, then backward."""
    made = []
    items, infos = walk(client, path, limit, between=lambda: made.append(create()))
    assert made, "the walk should span several pages"
    assert ids(items) == ids(expected) + ids(made)  # nothing repeats or goes missing; new ones last
    assert items == sorted(items, key=sort_key)
    assert infos[0]["has_previous_page"] is False and infos[-1]["has_next_page"] is False
    assert all(i["has_next_page"] for i in infos[:-1]) and all(i["has_previous_page"] for i in infos[1:])
    assert all(i["start_cursor"] and i["end_cursor"] for i in infos)
    last = ok(client.get(f"{path}?limit={limit}&after={infos[-2]['end_cursor']}", headers=AUTH))
    back, back_infos = walk_back(client, path, limit, last["page_info"]["start_cursor"])
    assert back + last["data"] == items
    assert back_infos[-1]["has_previous_page"] is False and all(i["has_previous_page"] for i in back_infos[:-1])


def test_walk_customers_both_ways_while_creating(client, seeded):
    expected = ok(client.get(f"{P}/customers?limit=100", headers=AUTH))["data"]
    assert len(expected) > 21 and {c["status"] for c in expected} == {"active"}
    assert ids(expected) == seeded["active"] and expected == sorted(expected, key=sort_key)
    counter = iter(range(100))
    create = lambda: ok(client.post(f"{P}/customers", json={"name": f"New {next(counter)}"}, headers=AUTH), 201)  # noqa
    check_walk(client, f"{P}/customers", 7, expected, create)


def test_walk_users_both_ways_while_creating(client, seeded):
    path = f"{P}/customers/{seeded['many_users']}/users"
    expected = ok(client.get(f"{path}?limit=100", headers=AUTH))["data"]
    assert len(expected) > 10 and {u["customer_id"] for u in expected} == {seeded["many_users"]}
    counter = iter(range(100))
    create = lambda: ok(client.post(path, json={"first_name": f"New {next(counter)}"}, headers=AUTH), 201)  # noqa
    check_walk(client, path, 3, expected, create)


def test_walk_skips_customers_archived_meanwhile_without_losing_others(client, seeded):
    first = ok(client.get(f"{P}/customers?limit=7", headers=AUTH))
    later = seeded["active"][10]
    ok(client.delete(f"{P}/customers/{first['data'][-1]['id']}", headers=AUTH))  # the cursor's own item
    ok(client.delete(f"{P}/customers/{later}", headers=AUTH))
    page = ok(client.get(f"{P}/customers?limit=100&after={first['page_info']['end_cursor']}", headers=AUTH))
    assert ids(page["data"]) == [c for c in seeded["active"][7:] if c != later]
    assert page["page_info"]["has_previous_page"] is True


# -- 4. determinism ---------------------------------------------------------------------

def reads(app) -> list[bytes]:
    client = app.test_client()
    cid = ok(client.get(f"{P}/customers?limit=50", headers=AUTH))["data"][0]["id"]
    paths = [f"{P}/customers?limit=50", f"{P}/customers/{cid}", f"{P}/customers/{cid}/users?limit=5",
             f"{P}/customers/{cid}/payment-methods", "/_sandbox/workspace"]
    responses = [client.get(path, headers=AUTH) for path in paths]
    assert all(r.status_code == 200 and r.get_json() for r in responses)
    return [r.data for r in responses]


def posts(app) -> list[str]:
    client = app.test_client()
    made = []
    for n in range(3):
        made.append(ok(client.post(f"{P}/customers", json={"name": f"C{n}"}, headers=AUTH), 201)["id"])
        made.append(ok(client.post(f"{P}/customers/{made[-1]}/users", json={}, headers=AUTH), 201)["id"])
    return made


def test_seeded_customers_live_at_real_us_addresses_and_their_times_are_to_the_second(read_client):
    """City, state and ZIP come from one USPS record; timestamps look like the document's examples."""
    places = {(p.city, p.state, p.postal_code) for p in us_places()}
    workspace = read_client.application.extensions["sandbox"]["registry"].default
    customers = workspace.collection("payments", "customers").values()
    seeded_ones = [c for c in customers if c["created_at"] < "2026"]
    assert len(seeded_ones) > 40
    for customer in seeded_ones:
        assert (customer["city"], customer["state"], customer["postal_code"]) in places, customer
        assert customer["country"] == "USA"
        for key in ("created_at", "updated_at", "archived_at"):
            assert customer[key] is None or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", customer[key])
    for user in workspace.collection("payments", "users").values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", user["created_at"])


def test_same_seed_same_bytes_and_same_ids():
    a, b = create_app(Settings(seed=42)), create_app(Settings(seed=42))
    assert reads(a) == reads(b)
    made = posts(a)
    assert made == posts(b) and len(set(made)) == len(made)
    other = create_app(Settings(seed=43))
    assert reads(other)[0] != reads(a)[0]
    listed = [ok(app.test_client().get(f"{P}/customers?limit=100", headers=AUTH))["data"] for app in (a, other)]
    assert not set(ids(listed[0])) & set(ids(listed[1]))
    assert posts(other) != made


def test_reset_restores_the_seeded_data(client, seeded):
    before = client.get(f"{P}/customers?limit=100", headers=AUTH).data
    workspace = ok(client.get("/_sandbox/workspace", headers=AUTH))
    created = ok(client.post(f"{P}/customers", json={"name": "Temp"}, headers=AUTH), 201)
    ok(client.delete(f"{P}/customers/{seeded['customer']}", headers=AUTH))
    ok(client.patch(f"{P}/customers/{seeded['active'][1]}", json={"name": "Renamed"}, headers=AUTH))
    assert ok(client.post("/_sandbox/reset", headers=AUTH)) == workspace
    assert_error(client.get(f"{P}/customers/{created['id']}", headers=AUTH), 404, "not_found", "path.id")
    assert ok(client.get(f"{P}/customers/{seeded['customer']}", headers=AUTH))["status"] == "active"
    assert client.get(f"{P}/customers?limit=100", headers=AUTH).data == before
    again = ok(client.post(f"{P}/customers", json={"name": "Temp"}, headers=AUTH), 201)
    assert again["id"] == created["id"]  # the id sequence restarts from the seed


# -- 5. workspaces ----------------------------------------------------------------------

def test_workspaces_are_isolated_and_their_clients_get_their_tokens(client):
    creds = ok(client.post("/_sandbox/workspaces"), 201)
    assert creds["token"] != "sandbox-token" and creds["client_id"] != "sandbox" and creds["seed"] == 42
    mine, default = bearer(creds["token"]), AUTH
    assert client.get(f"{P}/customers?limit=100", headers=mine).data == \
        client.get(f"{P}/customers?limit=100", headers=default).data  # seeded alike
    theirs = ok(client.post(f"{P}/customers", json={"name": "Mine"}, headers=mine), 201)["id"]
    ours = ok(client.post(f"{P}/customers", json={"name": "Ours"}, headers=default), 201)["id"]
    assert ok(client.get(f"{P}/customers/{theirs}", headers=mine))["name"] == "Mine"
    assert ids(ok(client.get(f"{P}/customers?limit=100", headers=mine))["data"])[-1] == theirs
    assert ids(ok(client.get(f"{P}/customers?limit=100", headers=default))["data"])[-1] == ours
    assert_error(client.get(f"{P}/customers/{theirs}", headers=default), 404, "not_found", "path.id")
    assert_error(client.get(f"{P}/customers/{ours}", headers=mine), 404, "not_found", "path.id")
    assert_error(client.get(f"{P}/customers/{ours}/users", headers=mine), 404, "not_found", "path.id")

    issued = bearer(token(client, creds["client_id"], creds["client_secret"]))
    assert ok(client.get("/_sandbox/workspace", headers=issued))["name"] == creds["name"]
    assert ok(client.get(f"{P}/customers/{theirs}", headers=issued))["name"] == "Mine"
    assert_error(client.get(f"{P}/customers/{ours}", headers=issued), 404, "not_found", "path.id")
    basic_token = ok(client.post(f"{P}/oauth/token", data={"grant_type": "client_credentials"},
                                 headers=basic(creds["client_id"], creds["client_secret"])))["access_token"]
    assert ok(client.get(f"{P}/customers/{theirs}", headers=bearer(basic_token)))["id"] == theirs
    default_issued = bearer(token(client))
    assert ok(client.get("/_sandbox/workspace", headers=default_issued))["name"] == "default"
    assert_error(client.get(f"{P}/customers/{theirs}", headers=default_issued), 404, "not_found", "path.id")
    assert_oauth_error(client.post(f"{P}/oauth/token", data={**GOOD_FORM, "client_id": creds["client_id"]}),
                       401, "invalid_client")  # another client's secret does not fit


def test_an_operation_naming_an_unknown_error_shape_stops_start_up():
    """x-sandbox errors: oauth2 on the token route needs the API to define that shape."""
    from dataclasses import replace

    from sandbox.apis.payments import API
    from sandbox.engine.spec import SpecError

    with pytest.raises(SpecError, match="createToken names error shape 'oauth2'"):
        replace(API, error_shapes={}).load()
