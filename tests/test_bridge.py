"""The RSGI bridge (``sandbox.bridge``), driven in process with granian's scope and protocol
stood in for: reads run in the loop's thread, what would wait there runs again in a thread,
bodies are received whole and bounded, and every answer is the app's own, byte for byte."""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from sandbox import bridge
from sandbox.bridge import Bridge, environ_of, refuser
from sandbox.engine.validation import MAX_BODY

from .conftest import AUTH
from .test_jsonapi import ORG
from .test_hostile import _api_of, assert_error_shape


class Headers:
    """granian's RSGIHeaders: ``items()`` lists a repeated header once per value."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = [(k.lower(), v) for k, v in pairs]

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)

    def get(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.pairs if k == key), default)

    def __contains__(self, key: str) -> bool:
        return any(k == key for k, _ in self.pairs)


class Scope:
    def __init__(self, method: str, target: str, headers: dict[str, str] | list[tuple[str, str]]) -> None:
        self.proto, self.http_version, self.scheme = "http", "1.1", "http"
        self.server, self.client = "127.0.0.1:8000", "127.0.0.1:40000"
        self.method = method
        self.path, _, self.query_string = target.partition("?")
        self.headers = Headers(list(headers.items()) if isinstance(headers, dict) else headers)


class Proto:
    """granian's RSGIHTTPProtocol: the body as chunks (a chunk of None: the sender stalls)."""

    def __init__(self, chunks: list[bytes | None] = ()) -> None:
        self.chunks = list(chunks)
        self.answer: tuple[int, dict[str, str], bytes] | None = None

    def __aiter__(self):
        return self._chunks()

    async def _chunks(self):
        for chunk in self.chunks:
            if chunk is None:
                await asyncio.sleep(3600)
            yield chunk

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answer = (status, dict(headers), body)


def call(served: Bridge, method: str, target: str, headers: dict[str, str] | None = None,
         chunks: list[bytes | None] = ()) -> tuple[int, dict[str, str], bytes]:
    proto = Proto(chunks)
    headers = dict(headers or {})
    if chunks and None not in chunks and "Transfer-Encoding" not in headers:
        headers.setdefault("Content-Length", str(sum(len(c) for c in chunks)))
    asyncio.run(served.__rsgi__(Scope(method, target, headers), proto))
    assert proto.answer is not None
    return proto.answer


@pytest.fixture
def served(fresh_app):
    served = Bridge(fresh_app, refuser(fresh_app), threads=4, bodies=2)
    yield served
    served.pool.shutdown(wait=True)


def test_an_answer_is_the_apps_own_byte_for_byte(served, fresh_app):
    client = fresh_app.test_client()
    for target in ("/payments/customers?limit=3", "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses",
                   "/exemptions/customers?corporation_id=corp_123&limit=2", f"/commerce/api/v1/businesses?o={ORG}",
                   "/payments/customers?limit=0", "/nowhere"):
        status, headers, body = call(served, "GET", target, AUTH)
        expected = client.get(target, headers=AUTH)
        assert (status, body) == (expected.status_code, expected.get_data())
        assert headers["Content-Type"] == expected.headers["Content-Type"]


def test_a_write_is_run_in_a_thread_of_the_pool_and_its_record_is_read_back(served):
    status, _, body = call(served, "POST", "/payments/customers", {**AUTH, "Content-Type": "application/json"},
                           [b'{"name": "Bridge', b' Ltd", "email": "b@example.com"}'])
    assert status == 201
    created = json.loads(body)
    status, _, body = call(served, "GET", f"/payments/customers/{created['id']}", AUTH)
    assert (status, json.loads(body)) == (200, created)


def test_a_read_that_would_wait_for_a_lock_runs_in_a_thread_and_others_are_answered_meanwhile(served, fresh_app):
    registry = fresh_app.extensions["sandbox"]["registry"]
    other = registry.create()
    taken, release = threading.Event(), threading.Event()

    def holder():
        with registry.default.lock:
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    taken.wait(10)

    async def both():
        blocked = Proto()
        waiting = asyncio.create_task(served.__rsgi__(Scope("GET", "/payments/customers?limit=1", AUTH), blocked))
        await asyncio.sleep(0.05)
        assert blocked.answer is None  # waiting for the lock, in a thread: the loop goes on
        free = Proto()
        await served.__rsgi__(Scope("GET", "/payments/customers?limit=1",
                                    {"Authorization": f"Bearer {other.token}"}), free)
        assert free.answer is not None and free.answer[0] == 200
        release.set()
        await waiting
        return blocked.answer

    status, _, body = asyncio.run(both())
    thread.join()
    assert status == 200 and len(json.loads(body)["data"]) == 1


def test_a_delayed_read_sleeps_in_a_thread_and_is_journaled_once(served):
    status, headers, _ = call(served, "GET", "/payments/customers?limit=1", {**AUTH, "Prefer": "delay=50"})
    assert status == 200 and headers["Preference-Applied"] == "delay=50"
    _, _, body = call(served, "GET", "/_sandbox/requests?limit=5", AUTH)
    journal = json.loads(body)["data"]
    delayed = [e for e in journal if e["operation"] == "listCustomers"]
    assert len(delayed) == 1 and delayed[0]["duration_ms"] >= 50


def test_a_body_over_the_limit_is_a_413_in_shape_and_nothing_is_written(served, fresh_app):
    before = len(list(fresh_app.extensions["sandbox"]["registry"].default.collection("payments", "customers").values()))
    status, headers, body = call(served, "POST", "/payments/customers", {**AUTH, "Transfer-Encoding": "chunked"},
                                 [b"x" * (MAX_BODY // 2), b"x" * (MAX_BODY // 2 + 1)])
    assert status == 413 and headers["Connection"] == "close"
    assert_error_shape(_api_of("/payments/customers"), None, 413, body)
    after = len(list(fresh_app.extensions["sandbox"]["registry"].default.collection("payments", "customers").values()))
    assert after == before


def test_a_body_that_stalls_is_a_408_in_shape(served, monkeypatch):
    monkeypatch.setattr(bridge, "BODY_TIMEOUT", 0.05)
    status, _, body = call(served, "POST", "/billing/v1/customers", {**AUTH, "Content-Length": "100"}, [b"{", None])
    assert status == 408
    assert_error_shape(_api_of("/billing/v1/customers"), None, 408, body)


def test_bodies_past_the_bound_are_refused_with_retry_after(served):
    async def three():
        stalled = [Proto([b"{", None]) for _ in range(2)]
        tasks = [asyncio.create_task(served.__rsgi__(Scope("POST", "/payments/customers", {**AUTH, "Content-Length": "9"}), p))
                 for p in stalled]
        await asyncio.sleep(0.05)
        refused = Proto([b"{}"])
        await served.__rsgi__(Scope("POST", "/payments/customers", {**AUTH, "Content-Length": "2"}), refused)
        for task in tasks:
            task.cancel()
        return refused.answer

    status, headers, body = asyncio.run(three())
    assert status == 429 and headers["Retry-After"] == "1"
    assert_error_shape(_api_of("/payments/customers"), None, 429, body)


def test_the_environ_is_the_one_granians_wsgi_gives():
    environ = environ_of(Scope("GET", "/p/é?q=é&r=%20", [("Prefer", "a=1"), ("Prefer", "b=2"), ("Content-Type", "text/plain"),
                                                          ("Host", "x")]), b"hi")
    assert environ["PATH_INFO"] == "/p/é".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "q=é&r=%20".encode().decode("latin-1")
    assert environ["HTTP_PREFER"] == "a=1,b=2" and environ["CONTENT_TYPE"] == "text/plain"
    assert (environ["HTTP_HOST"], environ["SERVER_PORT"], environ["REMOTE_ADDR"]) == ("x", "8000", "127.0.0.1")
    assert environ["wsgi.input"].read() == b"hi"


def test_a_read_of_an_api_not_made_yet_is_made_in_a_thread_then_read_inline(served, fresh_app, monkeypatch):
    registry = fresh_app.extensions["sandbox"]["registry"]
    assert "exemptions" not in registry.dataset(registry.default.seed, registry.default.scale).made
    threaded = []
    original = served._threaded
    monkeypatch.setattr(served, "_threaded", lambda scope, body, carried: threaded.append(scope.path) or original(scope, body, carried))
    target = "/exemptions/customers?corporation_id=corp_123&limit=2"
    first = call(served, "GET", target, AUTH)
    assert first[0] == 200 and threaded == ["/exemptions/customers"]
    assert call(served, "GET", target, AUTH) == first and threaded == ["/exemptions/customers"]


def test_a_read_offloaded_after_its_rate_limit_token_was_taken_takes_no_second_one(served, fresh_app):
    limited = fresh_app.extensions["sandbox"]["registry"].create(rate_limit=2)
    auth = {"Authorization": f"Bearer {limited.token}"}
    # the first read of payments makes the workspace's payments overlays: offloaded after admission
    statuses = [call(served, "GET", "/payments/customers?limit=1", auth)[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    _, _, body = call(served, "GET", "/_sandbox/requests", auth)
    assert [e["status"] for e in json.loads(body)["data"]] == [429, 200, 200]
