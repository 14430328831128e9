"""Round trips to Redis per request, counted (not timed): each bench read of each API costs
a pinned number, so a change that adds one per record or per request shows here; and the
caches behind those counts never hide a write made through another process.

A read of collections the workspace has not written costs two whatever the API: the
authentication script (which also returns the workspace's written collections) and the
journal's append (a script); the records come from the process's copy of the seeded data."""
from __future__ import annotations

from collections import Counter

import pytest

from sandbox import create_app
from sandbox.engine import redis_store
from sandbox.settings import Settings

from .conftest import namespace
from .redis_server import running_redis

AUTH = {"Authorization": "Bearer sandbox-token"}
ORG = "5c0a7e1d-2b3f-4c8a-9d6e-1f2a3b4c5d6e"
BUSINESSES = f"/commerce/api/v1/businesses?o={ORG}"
# the bench's read of each API on the seeded default workspace -> round trips: authentication
# (one script) and the journal (one script; was a MULTI); every collection read is unwritten,
# so none of these reads, which each cost a round trip before, reaches Redis:
BENCH_READS = {
    "/payments/customers?limit=10": 2,                                         # was 3: one scan
    "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses": 2,      # was 4: the customer, one scan
    "/exemptions/customers?corporation_id=corp_123&limit=20": 2,               # was 4: the corporation, one scan chunk
    BUSINESSES: 2,  # was 11: organization, businesses scan, 3 get_many (address, image, payment setup),
                    #   customers and balances each unchanged? (HLEN, ZCARD+SCARD)
}
# once the workspace has written payments' customers, their list is read from Redis again
WRITTEN_CUSTOMERS = 3  # authentication, one scan (own and seeded first chunks in one script), the journal


class RoundTrips:
    """Counts what reaches Redis: each command sent alone and each pipeline (one round trip)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: Counter[str] = Counter()
        command, execute = redis_store.Client.execute_command, redis_store.Pipeline.execute

        def counted_command(client, *args, **options):
            self.sent[str(args[0])] += 1
            return command(client, *args, **options)

        def counted_pipeline(pipe, raise_on_error=True):
            self.sent["pipeline(" + ",".join(str(c[0][0]) for c in pipe.command_stack) + ")"] += 1
            return execute(pipe, raise_on_error)

        monkeypatch.setattr(redis_store.Client, "execute_command", counted_command)
        monkeypatch.setattr(redis_store.Pipeline, "execute", counted_pipeline)

    def of(self, client, path: str, headers: dict[str, str] = AUTH) -> tuple[int, Counter[str]]:
        client.get(path, headers=headers)  # warm: scripts loaded, per-process indexes built
        self.sent.clear()
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sum(self.sent.values()), Counter(self.sent)


@pytest.fixture(scope="module")
def redis_url():
    with running_redis() as server:
        yield server.url


@pytest.mark.parametrize("path", list(BENCH_READS))
def test_each_bench_read_costs_its_pinned_round_trips(redis_url, monkeypatch, path):
    client = create_app(Settings(store=redis_url, store_namespace=namespace())).test_client()
    count, sent = RoundTrips(monkeypatch).of(client, path)
    assert count == BENCH_READS[path], sent


def test_commerce_lookups_do_not_grow_with_the_page(redis_url, monkeypatch):
    client = create_app(Settings(store=redis_url, store_namespace=namespace())).test_client()
    trips = RoundTrips(monkeypatch)
    one, _ = trips.of(client, f"{BUSINESSES}&page[size]=1")
    many, sent = trips.of(client, f"{BUSINESSES}&page[size]=20")
    assert one <= many == BENCH_READS[BUSINESSES], sent  # a page of one may link fewer kinds of record


def test_a_write_through_another_process_shows_in_the_next_commerce_read(redis_url):
    """Two apps on one namespace stand for two workers: the seeded indexes the reader keeps
    are not used once the workspace, written through the writer, has changed customers or balances."""
    settings = dict(store=redis_url, store_namespace=namespace())
    reader = create_app(Settings(**settings)).test_client()
    workspace = create_app(Settings(**settings)).extensions["sandbox"]["registry"].default
    path = f"{BUSINESSES}&include=customers,customer_balances&page[size]=50"
    for relationship, collection in (("customers", "customers"), ("customer_balances", "customer_balances")):
        before = reader.get(path, headers=AUTH).get_json()
        business = next(b for b in before["data"] if b["relationships"][relationship]["data"])
        gone = business["relationships"][relationship]["data"][0]
        with workspace.transaction():
            assert workspace.collection("commerce", collection).delete(gone["id"]) is not None
        after = reader.get(path, headers=AUTH).get_json()
        shown = next(b for b in after["data"] if b["id"] == business["id"])
        assert gone not in shown["relationships"][relationship]["data"]
        assert gone["id"] not in {r["id"] for r in after["included"]}
        assert len(shown["relationships"][relationship]["data"]) == len(business["relationships"][relationship]["data"]) - 1


def test_a_written_collection_is_read_from_redis_and_the_others_still_not(redis_url, monkeypatch):
    app = create_app(Settings(store=redis_url, store_namespace=namespace()))
    client = app.test_client()
    workspace = app.extensions["sandbox"]["registry"].default
    with workspace.transaction():
        customers = workspace.collection("payments", "customers")
        customers.put({**next(iter(customers.values())), "email": "changed@example.com"})
    trips = RoundTrips(monkeypatch)
    count, sent = trips.of(client, "/payments/customers?limit=10")
    assert count == WRITTEN_CUSTOMERS, sent
    count, sent = trips.of(client, "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses")
    assert count == 2, sent


def test_writes_and_resets_through_another_process_show_in_the_next_read(redis_url):
    """The reader keeps its copy of the seeded data; a delete, a put and a reset made through
    another app on the same namespace (another worker) each show in its very next read."""
    settings = dict(store=redis_url, store_namespace=namespace())
    reader = create_app(Settings(**settings)).test_client()
    writer = create_app(Settings(**settings)).extensions["sandbox"]["registry"]
    workspace = writer.default
    path = "/payments/customers?limit=100"
    seeded = reader.get(path, headers=AUTH).get_json()["data"]
    gone, changed = seeded[0], {**seeded[1], "email": "changed@example.com"}
    with workspace.transaction():
        workspace.collection("payments", "customers").delete(gone["id"])
    assert reader.get(f"/payments/customers/{gone['id']}", headers=AUTH).status_code == 404
    listed = reader.get(path, headers=AUTH).get_json()["data"]
    assert gone["id"] not in {c["id"] for c in listed} and len(listed) == len(seeded) - 1
    with workspace.transaction():
        workspace.collection("payments", "customers").put(changed)
    assert reader.get(f"/payments/customers/{changed['id']}", headers=AUTH).get_json()["email"] == "changed@example.com"
    writer.reset(workspace)
    assert reader.get(path, headers=AUTH).get_json()["data"] == seeded
