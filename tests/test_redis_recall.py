"""A read served inline on Redis (``sandbox.bridge``): the process recalls the workspace of
its token, and one script, sent from the event loop with the others of its turn
(``engine.redis_pipelined``), both writes its journal entry and confirms that nothing the
read relied on changed; when something did (a write, a reset, a deleted workspace, through
another process), or Redis is away, the read runs again in a thread and looks up afresh."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import hiredis
import pytest

from sandbox import create_app
from sandbox.bridge import Bridge, refuser
from sandbox.engine import redis_pipelined
from sandbox.engine.redis_pipelined import Pipelined, Unanswered
from sandbox.settings import Settings

from .conftest import AUTH, free_port, namespace
from .redis_server import running_redis
from .test_bridge import Proto, Scope
from .test_hostile import _api_of, assert_error_shape
from .test_redis_round_trips import RoundTrips

CUSTOMERS = "/payments/customers?limit=100"


@pytest.fixture(scope="module")
def redis_server():
    with running_redis(appendonly=True) as server:
        yield server


class Served:
    """An app on Redis behind the bridge; ``calls`` are answered in one event loop, concurrently."""

    def __init__(self, url: str, ns: str, **settings: Any) -> None:
        self.app = create_app(Settings(store=url, store_namespace=ns, **settings))
        self.registry = self.app.extensions["sandbox"]["registry"]
        self.bridge = Bridge(self.app, refuser(self.app), threads=4)
        self.loop = asyncio.new_event_loop()

    def calls(self, *targets: str, headers: dict[str, str] = AUTH) -> list[tuple[int, dict[str, str], Any]]:
        async def one(target: str) -> tuple[int, dict[str, str], Any]:
            proto = Proto()
            await self.bridge.__rsgi__(Scope("GET", target, headers), proto)
            assert proto.answer is not None
            status, answered, body = proto.answer
            return status, answered, json.loads(body)

        async def every() -> list[tuple[int, dict[str, str], Any]]:
            return list(await asyncio.gather(*(one(t) for t in targets)))

        return self.loop.run_until_complete(every())

    def call(self, target: str, headers: dict[str, str] = AUTH) -> tuple[int, dict[str, str], Any]:
        return self.calls(target, headers=headers)[0]

    def journal(self, token_headers: dict[str, str] = AUTH) -> list[dict[str, Any]]:
        return self.app.test_client().get("/_sandbox/requests?limit=100", headers=token_headers).get_json()["data"]

    def close(self) -> None:
        self.bridge.pool.shutdown(wait=True)
        self.loop.close()


@pytest.fixture
def two(redis_server):
    """Two apps on one namespace: two workers (or replicas) of one sandbox."""
    ns = namespace()
    reader, writer = Served(redis_server.url, ns), Served(redis_server.url, ns)
    yield reader, writer
    reader.close()
    writer.close()


class Sent:
    """Counts what the pipelined connections write (each write: one round trip) and the scripts sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.writes, self.scripts = 0, 0
        flush, evalsha = redis_pipelined._Connection._flush, Pipelined.evalsha

        def counted_flush(connection):
            self.writes += bool(connection._batch)
            return flush(connection)

        async def counted_evalsha(pipelined, sha, keys, args):
            self.scripts += 1
            return await evalsha(pipelined, sha, keys, args)

        monkeypatch.setattr(redis_pipelined._Connection, "_flush", counted_flush)
        monkeypatch.setattr(Pipelined, "evalsha", counted_evalsha)


def test_a_recalled_read_costs_one_pipelined_script_and_is_journaled_before_its_answer(two, monkeypatch):
    reader, _ = two
    first = reader.call(CUSTOMERS)  # looked up through redis-py: now recalled
    reader.call(CUSTOMERS)  # recalled: the pipelined connection is made
    trips, sent = RoundTrips(monkeypatch), Sent(monkeypatch)
    status, _, body = reader.call(CUSTOMERS)
    assert status == 200 and body == first[2]
    assert sum(trips.sent.values()) == 0, trips.sent  # nothing through redis-py
    assert (sent.scripts, sent.writes) == (1, 1)
    assert [e["operation"] for e in reader.journal()] == ["listCustomers"] * 3


def test_reads_of_one_turn_share_one_write(two, monkeypatch):
    reader, _ = two
    reader.call(CUSTOMERS)
    reader.call(CUSTOMERS)
    sent = Sent(monkeypatch)
    answers = reader.calls(*[f"/payments/customers?limit={n}" for n in range(1, 9)])
    assert [(status, len(body["data"])) for status, _, body in answers] == [(200, n) for n in range(1, 9)]
    assert (sent.scripts, sent.writes) == (8, 1)
    assert sorted(e["query"]["limit"] for e in reader.journal()[:8]) == sorted(str(n) for n in range(1, 9))


def test_writes_resets_and_a_deleted_workspace_through_another_process_show_in_the_next_read(two, monkeypatch):
    reader, writer = two
    seeded = reader.call(CUSTOMERS)[2]["data"]
    workspace = writer.registry.default
    with workspace.transaction():
        workspace.collection("payments", "customers").delete(seeded[0]["id"])
    status, _, body = reader.call(CUSTOMERS)  # recalled, refused by the script, run again afresh
    assert status == 200 and seeded[0]["id"] not in {c["id"] for c in body["data"]}
    assert len(body["data"]) == len(seeded) - 1
    assert [e["status"] for e in reader.journal()[:2]] == [200, 200]  # once per read, not per run
    assert len([e for e in reader.journal() if e["operation"] == "listCustomers"]) == 2
    writer.registry.reset(workspace)
    assert reader.call(CUSTOMERS)[2]["data"] == seeded
    created = writer.app.test_client().post("/_sandbox/workspaces", json={"name": "gone-soon"}, headers=AUTH)
    assert created.status_code == 201, created.get_json()
    theirs = {"Authorization": f"Bearer {created.get_json()['token']}"}
    assert reader.call(CUSTOMERS, theirs)[0] == 200
    assert reader.call(CUSTOMERS, theirs)[0] == 200  # recalled
    issued, _ = writer.registry.issue_token(created.get_json()["client_id"], created.get_json()["client_secret"])
    oauth = {"Authorization": f"Bearer {issued}"}
    assert [reader.call(CUSTOMERS, oauth)[0] for _ in range(2)] == [200, 200]  # the second recalled
    writer.registry.client.pexpire(writer.registry.key("tok", issued), 1)  # its lifetime ends
    time.sleep(0.01)
    assert reader.call(CUSTOMERS, oauth)[0] == 401
    gone = writer.app.test_client().delete("/_sandbox/workspace", headers=theirs)
    assert gone.status_code == 200 and gone.get_json()["deleted"], gone.get_data(as_text=True)
    status, _, body = reader.call(CUSTOMERS, theirs)
    assert status == 401
    assert_error_shape(_api_of(CUSTOMERS), None, 401, json.dumps(body).encode())


def test_a_recalled_workspace_idle_past_its_expiry_is_gone(redis_server):
    served = Served(redis_server.url, namespace(), idle_expiry=60)
    try:
        created = served.app.test_client().post("/_sandbox/workspaces", json={"name": "idle"}, headers=AUTH)
        theirs = {"Authorization": f"Bearer {created.get_json()['token']}"}
        assert [served.call(CUSTOMERS, theirs)[0] for _ in range(3)] == [200] * 3  # recalled, and marked used
        clock = served.registry._clock
        served.registry._clock = lambda: clock() + 61
        assert served.call(CUSTOMERS, theirs)[0] == 401
        assert served.call(CUSTOMERS)[0] == 200  # the default workspace never expires
    finally:
        served.close()


def test_redis_away_is_a_503_in_shape_and_reads_resume_pipelined_when_it_is_back(two, redis_server, monkeypatch):
    reader, _ = two
    reader.call(CUSTOMERS)
    reader.call(CUSTOMERS)  # recalled: the pipelined connection is open
    redis_server.stop()
    try:
        status, _, body = reader.call(CUSTOMERS)
    finally:
        redis_server.start()  # appendonly: the workspace and its journal are still there
    assert status == 503
    assert_error_shape(_api_of(CUSTOMERS), None, 503, json.dumps(body).encode())
    statuses = [reader.call(CUSTOMERS)[0] for _ in range(3)]
    assert statuses[-1] == 200 and set(statuses) <= {200, 503}, statuses
    sent = Sent(monkeypatch)
    assert reader.call(CUSTOMERS)[0] == 200
    assert (sent.scripts, sent.writes) == (1, 1)


def test_scripts_flushed_from_redis_are_loaded_again_by_the_next_connection(two, redis_server, monkeypatch):
    reader, _ = two
    reader.call(CUSTOMERS)
    reader.call(CUSTOMERS)
    reader.registry.client.script_flush()
    assert [reader.call(CUSTOMERS)[0] for _ in range(2)] == [200, 200]  # NOSCRIPT: run again; then a new connection
    assert len(reader.journal()) == 4
    sent = Sent(monkeypatch)
    assert reader.call(CUSTOMERS)[0] == 200
    assert (sent.scripts, sent.writes) == (1, 1)


async def _silent_after(answers: int, port: int, stop: asyncio.Event) -> None:
    """A server that answers its first ``answers`` commands with +OK, then never again."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser, answered = hiredis.Reader(), 0
        while data := await reader.read(65536):
            parser.feed(data)
            while parser.gets() is not False:
                if answered < answers:
                    writer.write(b"+OK\r\n")
                    answered += 1
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await stop.wait()


@pytest.mark.parametrize("answers", [0, 2], ids=["set-up unanswered", "script unanswered"])
def test_a_silent_redis_fails_the_script_in_time_and_the_connection_is_dropped(monkeypatch, answers):
    monkeypatch.setattr(redis_pipelined, "SOCKET_TIMEOUT", 0.2)
    port = free_port()

    async def scenario() -> tuple[type, float, bool]:
        stop = asyncio.Event()
        server = asyncio.ensure_future(_silent_after(answers, port, stop))
        await asyncio.sleep(0.05)
        pipelined = Pipelined({"host": "127.0.0.1", "port": port, "db": 0}, {"0" * 40: "return 1"})
        started = asyncio.get_running_loop().time()
        try:
            await pipelined.evalsha("0" * 40, [], [])
            raised: type = type(None)
        except Unanswered:
            raised = Unanswered
        took = asyncio.get_running_loop().time() - started
        dropped = pipelined._connection is None or pipelined._connection.closed
        stop.set()
        await server
        return raised, took, dropped

    raised, took, dropped = asyncio.run(scenario())
    assert raised is Unanswered and dropped
    assert took < 2.0  # within a few timeouts (the watch looks every SOCKET_TIMEOUT), never a hang
