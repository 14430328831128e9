"""Several sandboxes on one Redis serve one consistent sandbox: two ``sandbox serve``
replicas (different ports) and in-process apps, against a real redis-server on a free
loopback port (tests/redis_server.py: skipped, saying why, where redis-server is missing;
never in CI)."""
from __future__ import annotations

import json
from email.message import Message
import threading
import urllib.error
from collections import Counter
import urllib.request

import pytest

from sandbox import create_app
from sandbox.settings import Settings

from . import mixed_writes
from .conftest import TOKEN, LiveServer, namespace
from .test_hostile import assert_error_shape
from .redis_server import running_redis

BILLING_CUSTOMER = "cus_01h1w8r7s2v4l5m6n7p8j9k0q2"
ORG = "5c0a7e1d-2b3f-4c8a-9d6e-1f2a3b4c5d6e"
JSONAPI = "application/vnd.api+json"


def call(url: str, method: str, path: str, token: str | None = TOKEN, body=None,
         headers: dict[str, str] | None = None) -> tuple[int, object, Message]:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, got = response.read(), response.status, response.headers  # names case-insensitive
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, error.headers
    return status, (json.loads(raw) if raw else None), got


@pytest.fixture(scope="module")
def redis_url():
    with running_redis() as server:
        yield server.url


@pytest.fixture(scope="module")
def replicas(redis_url):
    """Two ``sandbox serve --store <redis>`` replicas of two worker processes each, sharing one namespace."""
    env = {"SANDBOX_STORE_NAMESPACE": namespace()}
    servers: list[LiveServer] = []
    try:
        for _ in range(2):
            servers.append(LiveServer("--store", redis_url, "--workers", "2", "--threads", "8", env=env))
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def workspace(replicas) -> dict:
    """A workspace of this test's own, made on the first replica."""
    status, body, _ = call(replicas[0], "POST", "/_sandbox/workspaces", token=None, body={})
    assert status == 201, body
    return body


def test_a_create_on_one_replica_is_read_and_listed_exactly_once_on_the_other(replicas, workspace):
    a, b = replicas
    token = workspace["token"]
    status, created, headers = call(a, "POST", "/payments/customers", token, {"name": "Replica Co"})
    assert status == 201 and headers["Location"] == f"/payments/customers/{created['id']}"
    status, read, _ = call(b, "GET", f"/payments/customers/{created['id']}", token)
    assert status == 200 and read == created
    listed = mixed_writes.listed_ids(b, token)
    assert listed.count(created["id"]) == 1 and len(listed) == len(set(listed))
    status, other, _ = call(b, "GET", f"/payments/customers/{created['id']}")  # the default workspace
    assert status == 404 and other["error"] == "not_found"


def test_tokens_reset_and_delete_agree_on_every_replica(replicas, workspace):
    a, b = replicas
    token = workspace["token"]
    status, issued, _ = call(b, "POST", "/payments/oauth/token", None, b"grant_type=client_credentials&client_id="
                             + workspace["client_id"].encode() + b"&client_secret=" + workspace["client_secret"].encode(),
                             {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, issued
    assert call(a, "GET", "/payments/customers?limit=1", issued["access_token"])[0] == 200
    status, forbidden, _ = call(a, "GET", f"/commerce/api/v1/businesses?o={ORG}", token + "-member",
                                headers={"Accept": JSONAPI})
    assert status == 403 and forbidden["errors"][0]["code"] == "forbidden"

    first = call(a, "POST", "/payments/customers", token, {"name": "Before Reset"})[1]
    assert call(b, "POST", "/_sandbox/workspace/reset", token)[0] == 200
    assert call(a, "GET", f"/payments/customers/{first['id']}", token)[0] == 404
    again = call(a, "POST", "/payments/customers", token, {"name": "After Reset"})[1]
    assert again["id"] == first["id"]  # ids restart from the seed, whichever replica resets
    status, described, _ = call(b, "GET", "/_sandbox/workspace", token)
    assert described["records_written"] == 1

    assert call(a, "DELETE", "/_sandbox/workspace", token)[0] == 200
    for url in replicas:
        for credential in (token, token + "-member", issued["access_token"]):
            status, body, _ = call(url, "GET", "/payments/customers", credential)
            assert status == 401 and body["error"] == "unauthorized"


def test_the_rate_limit_and_the_journal_are_shared(replicas):
    a, b = replicas
    created = call(a, "POST", "/_sandbox/workspaces", None, {"rate_limit": 2})[1]
    token = created["token"]
    statuses = [call(url, "GET", "/payments/customers?limit=1", token)[0] for url in (a, b, a)]
    assert statuses == [200, 200, 429]
    status, journal, _ = call(b, "GET", "/_sandbox/requests", token)
    assert status == 200
    assert [e["status"] for e in journal["data"]] == [429, 200, 200]


def test_concurrent_mixed_writes_over_two_replicas_lose_and_double_nothing(replicas, workspace):
    """The issue's figure: 8 clients x 1,000 mixed writes over 2 replicas x 2 workers (4 processes)."""
    token = workspace["token"]
    before = mixed_writes.listed_ids(replicas[0], token)
    shared = before[0]
    stored = call(replicas[0], "GET", "/_sandbox/workspace", token)[1]["apis"]["payments"]["counts"]["customers"]
    outcome = mixed_writes.run(replicas, token, shared, clients=8, writes=1000)
    assert set(outcome.statuses) <= {"POST 201", "PATCH 200", "DELETE 200"}, outcome.statuses
    assert outcome.writes == 8 * 1000
    assert mixed_writes.problems(replicas, token, before, shared, outcome) == []
    for url in replicas:
        described = call(url, "GET", "/_sandbox/workspace", token)[1]
        assert described["records_written"] == len(outcome.created) + 1  # the creates and the shared customer
        assert described["apis"]["payments"]["counts"]["customers"] == stored + len(outcome.created)


# -- in-process, one store against the other -------------------------------------------------

LISTS = ["/payments/customers?limit=100", f"/billing/v1/customers/{BILLING_CUSTOMER}/businesses?limit=100",
         f"/billing/v1/customers/{BILLING_CUSTOMER}/addresses?limit=100",
         "/exemptions/customers?corporation_id=corp_123&limit=100",
         *(f"/commerce/api/v1/{kind}?o={ORG}&page[size]=100" for kind in
           ("businesses", "customers", "orders", "plan-subscriptions")),
         "/_sandbox/workspace", "/_sandbox/workspace/export"]


def test_the_same_seed_gives_the_same_bytes_in_both_stores(redis_url):
    memory = create_app(Settings(seed=7, store="memory")).test_client()
    redis = create_app(Settings(seed=7, store=redis_url, store_namespace=namespace())).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}", "Accept": "*/*"}
    paths = list(LISTS)
    customer = memory.get("/payments/customers?limit=1", headers=auth).get_json()["data"][0]["id"]
    paths += [f"/payments/customers/{customer}/payment-methods?limit=100", f"/payments/customers/{customer}/users"]
    for path in paths:
        expected = memory.get(path, headers=auth)
        assert expected.status_code == 200, (path, expected.get_json())
        assert redis.get(path, headers=auth).data == expected.data, path
    made = [client.post("/payments/customers", json={"name": "Same Id"}, headers=auth).get_json()["id"]
            for client in (memory, redis)]
    assert made[0] == made[1]  # and the same ids for the same creates


# -- faults --------------------------------------------------------------------------------

FAULT_CHECKS = [  # (api, operation, path, how the API's own error shape carries the code)
    ("payments", "listCustomers", "/payments/customers", lambda body: body["error"]),
    ("billing", "listCustomerBusinesses", f"/billing/v1/customers/{BILLING_CUSTOMER}/businesses",
     lambda body: body["error"]["code"]),
    ("exemptions", "listCustomers", "/exemptions/customers?corporation_id=corp_123", lambda body: body["code"]),
    ("commerce", "listBusinesses", f"/commerce/api/v1/businesses?o={ORG}", lambda body: body["errors"][0]["code"]),
    ("sandbox", "getWorkspace", "/_sandbox/workspace", lambda body: body["error"]),
]


def test_redis_down_is_a_503_in_each_apis_shape_and_service_resumes_by_itself():
    with running_redis(appendonly=True) as server:
        client = create_app(Settings(store=server.url, store_namespace=namespace())).test_client()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        created = client.post("/payments/customers", json={"name": "Kept"}, headers=auth).get_json()
        server.stop()
        token = client.post("/payments/oauth/token", data={"grant_type": "client_credentials",
                                                           "client_id": "sandbox", "client_secret": "sandbox-token"})
        assert token.status_code == 503 and token.get_json()["error"] == "temporarily_unavailable", token.get_json()
        payments = next(a for a in client.application.extensions["sandbox"]["apis"] if a.name == "payments")
        assert_error_shape(payments, payments.spec.operations["createToken"], 503, token.data)
        assert token.headers["Retry-After"] == "1"
        apis = {api.name: api for api in client.application.extensions["sandbox"]["apis"]}
        for api, operation, path, code_of in FAULT_CHECKS:
            response = client.get(path, headers=auth)
            assert response.status_code == 503, (path, response.get_data(as_text=True))
            op = apis[api].spec.operations[operation]
            assert "503" in op.responses, f"{api} {operation} does not document its 503"
            assert_error_shape(apis[api], op, 503, response.data)  # the body the spec documents
            assert code_of(response.get_json()) == "service_unavailable", path
            assert response.headers["Retry-After"] == "1"
        refused = client.post("/payments/customers", json={"name": "Refused"}, headers=auth)
        assert refused.status_code == 503 and refused.get_json()["error"] == "service_unavailable"
        server.start()  # the same port and folder: appendonly (fsync always) kept every acknowledged write
        for _, _, path, _ in FAULT_CHECKS:
            assert client.get(path, headers=auth).status_code == 200, path
        response = client.get(f"/payments/customers/{created['id']}", headers=auth)
        assert response.status_code == 200 and response.get_json() == created
        listed = client.get("/payments/customers?limit=100", headers=auth).get_json()["data"]
        assert [c["id"] for c in listed].count(created["id"]) == 1
        assert "Refused" not in [c["name"] for c in listed]


def test_redis_restarted_under_load_answers_503s_never_500s_and_loses_no_acknowledged_write():
    with running_redis(appendonly=True) as server:
        app = create_app(Settings(store=server.url, store_namespace=namespace()))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        statuses: Counter = Counter()
        acknowledged: list[str] = []
        lock, stop = threading.Lock(), threading.Event()

        def load(k: int) -> None:
            client = app.test_client()
            while not stop.is_set():
                if k % 2:
                    response = client.post("/payments/customers", json={"name": f"load {k}"}, headers=auth)
                else:
                    response = client.get("/payments/customers?limit=5", headers=auth)
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 201:
                        acknowledged.append(response.get_json()["id"])

        def wait_for(status: int, more: int) -> None:
            with lock:
                target = statuses[status] + more
            while True:
                with lock:
                    if statuses[status] >= target:
                        return
                stop.wait(0.01)

        threads = [threading.Thread(target=load, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        try:
            wait_for(201, 10)
            server.stop()
            wait_for(503, 10)
            server.start()
            wait_for(201, 10)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert set(statuses) <= {200, 201, 503}, statuses
        client = app.test_client()
        for record_id in acknowledged:
            assert client.get(f"/payments/customers/{record_id}", headers=auth).status_code == 200
