"""RedisCollection behaves as store.Collection: the same random writes to an overlay over
the same base give the same reads, scans (every start, both ways, inclusive or not) and
counts, and a failed transaction puts every record back (a real redis-server). An overlay
nothing has written reads the same from the process's copy of its seeded base as from Redis."""
from __future__ import annotations

import random

import pytest

from sandbox.engine.redis_store import _HELD, RedisCollection, _Held, RedisUsage, connect, decode_key, encode_key
from sandbox.engine.store import Collection, Usage, Workspace

from .conftest import namespace
from .redis_server import running_redis

ORDER, PARENT = ("at",), "group"


@pytest.fixture(scope="module")
def client():
    with running_redis() as server:
        yield connect(server.url)


def record(rng: random.Random, record_id: str) -> dict:
    # ids and sort values with NUL, \x01, non-ASCII and prefixes of each other: byte order must be tuple order
    at = rng.choice(["2024-01-01", "2024-01-01\x00", "2024-01-01\x01", "2024-01-0", "2024-02-01", "é", "\x00"])
    return {"id": record_id, "at": at, "group": rng.choice(["g1", "g2", "g:3"]), "n": rng.randint(0, 9)}


def pair(client, rng: random.Random, frozen: bool = False):
    """A memory and a Redis overlay over equal bases of 40 records (``frozen``: the Redis base
    is a stored seeded one, read from the process's copy while the overlay is untouched)."""
    seeded = [record(rng, f"r{i}") for i in range(40)] + [record(rng, "r\x00x"), record(rng, "r\x01")]
    base = Collection("things", ORDER, PARENT)
    base.fill(seeded)
    prefix = f"{namespace()}:things"
    redis_base = RedisCollection(client, "things", ORDER, PARENT, f"{prefix}:base")
    redis_base.fill(seeded)
    redis_base.frozen = frozen
    usage = RedisUsage(client, f"{prefix}:usage")
    return base.overlay(Usage()), redis_base.overlay(f"{prefix}:own", usage, f"{prefix}:keys", f"{prefix}:written")


def same_reads(memory: Collection, redis_: RedisCollection, ids: list[str]) -> None:
    assert len(redis_) == len(memory) and redis_.written == memory.written
    for record_id in ids:
        assert redis_.get(record_id) == memory.get(record_id) and (record_id in redis_) == (record_id in memory)
    asked = ids + ["missing", ids[0] if ids else "r0"]  # get_many: every id at once, an absent one, a repeat
    assert redis_.get_many(asked) == memory.get_many(asked) == {i: memory.get(i) for i in asked if memory.get(i)}
    starts = [None, ("2024-01-01",), ("2024-01-01", "r3"), ("2024-01-01\x00",), ("é",), ("\x00",), ("zzz",)]
    for parent in (None, "g1", "g:3", "nowhere"):
        for start in starts:
            for reverse in (False, True):
                for inclusive in (False, True):
                    got = list(redis_.scan(parent, start, reverse, inclusive))
                    want = [(tuple(k), r) for k, r in memory.scan(parent, start, reverse, inclusive)]
                    assert got == want, (parent, start, reverse, inclusive)


def test_the_sort_key_encoding_keeps_tuple_order_and_reads_back():
    keys = [("a",), ("a", "b"), ("a\x00",), ("a\x00", ""), ("a\x01",), ("a\x01\x01",), ("ab",), ("é",), ("",), ("\x00",)]
    assert sorted(keys, key=encode_key) == sorted(keys)
    assert all(decode_key(encode_key(k)) == k for k in keys)


def test_random_writes_read_the_same_in_both_stores(client):
    rng = random.Random(7)
    memory, redis_ = pair(client, rng)
    ids = [f"r{i}" for i in range(60)] + ["r\x00x", "r\x01"]
    for step in range(300):
        record_id = rng.choice(ids)
        if rng.random() < 0.3:
            assert redis_.delete(record_id) == memory.delete(record_id)
        elif rng.random() < 0.2 and memory._base.get(record_id) is not None:
            original = memory._base.get(record_id)  # back to the seeded record: nothing of its own
            memory.put(original)
            redis_.put(original)
        else:
            changed = record(rng, record_id)
            memory.put(changed)
            redis_.put(changed)
        if step % 50 == 0:
            same_reads(memory, redis_, ids)
    same_reads(memory, redis_, ids)
    assert redis_._usage.records == memory.written


def test_an_untouched_overlay_reads_its_seeded_copy_the_same_and_a_write_marks_it(client):
    memory, redis_ = pair(client, random.Random(11), frozen=True)
    ids = [f"r{i}" for i in range(45)] + ["r\x00x", "r\x01"]
    same_reads(memory, redis_, ids)
    assert redis_._base._hash in _HELD._copies and not redis_.touched  # read from the copy
    assert client.smembers(redis_._written_key) == set()
    changed = {**memory.get("r3"), "n": 42}
    memory.put(changed)
    redis_.put(changed)
    assert redis_.touched and client.smembers(redis_._written_key) == {redis_.prefix.encode()}
    same_reads(memory, redis_, ids)
    # another process's object for the same overlay reads the seeded copy until the registry
    # touches it from the workspace's :written set (tests/test_redis_round_trips.py, end to end)
    other = RedisCollection(client, "things", ORDER, PARENT, redis_.prefix, redis_._base)
    assert other.get("r3") == memory._base.get("r3") != changed
    other.touched = True
    same_reads(memory, other, ids)


def test_a_process_keeps_copies_up_to_its_limit_and_reads_a_dropped_one_again(client):
    held = _Held(limit=1)  # every copy is over it: only the last one read is kept
    memory, redis_ = pair(client, random.Random(5), frozen=True)
    _, other = pair(client, random.Random(6), frozen=True)
    first = held.of(redis_._base)
    assert list(first.records) and held.of(redis_._base) is first
    held.of(other._base)
    assert list(held._copies) == [other._base._hash]
    again = held.of(redis_._base)
    assert again is not first and again.records == first.records and again.indexes == first.indexes
    assert [r for _, r in again.scan("g1", None, False, False)] == list(memory._base.values("g1"))


def test_a_failed_transaction_puts_every_record_back(client):
    memory, redis_ = pair(client, random.Random(3))
    workspace = Workspace(name="w", token="t", client_id="c", client_secret="s", seed=1, scale=1,
                          collections={"api": {"things": redis_}})  # type: ignore[dict-item]
    redis_.put({"id": "mine", "at": "2024-03-01", "group": "g1", "n": 1})
    before = list(redis_.scan())
    with pytest.raises(RuntimeError):
        with workspace.transaction():
            redis_.put({"id": "new", "at": "2024-03-02", "group": "g2", "n": 2})
            redis_.delete("r1")
            redis_.put({**redis_.get("mine"), "n": 5})
            raise RuntimeError("the write fails half way")
    assert list(redis_.scan()) == before and redis_.written == 1
