"""Collections in Redis, behind the interface of ``store.Collection``.

A collection is a hash (escaped id -> the record as JSON) and one sorted set per partition
(everything, and each parent's records), every member at score 0 so that Redis orders
them by bytes: the member is the record's sort key, each part escaped so that byte order
is tuple order (``encode_key``). A scan is ZRANGEBYLEX / ZREVRANGEBYLEX from the start key,
read lazily in growing chunks, one round trip each (a Lua script returns the members
and their records), so a deep keyset page costs what the first page costs.

A workspace's collection is an overlay over the shared seeded one, as in memory: its own
hash and sorted sets, plus a set of the base ids it hides (deleted or replaced); a scan
merges the two walks by key, leaving hidden ids out inside the script. Each write is one
read of the record (own, hidden, base) and one MULTI; every key a workspace generation
creates is listed in a set, so dropping a generation unlinks exactly its keys.

A seeded collection never changes once stored, so each process reads it whole once, on
first use, and keeps it (``_Copy``: the stored JSON by id and the sorted members of each
partition, ordered by bytes as Redis orders them; ``HELD_BYTES`` of them at most, the least
recently used dropped, to be read again if needed). An overlay that nothing has written is
read from that copy without a round trip. Whether anything has: each write adds the
overlay's prefix to its workspace's set of written collections in the write's MULTI
(``written_key``), and the registry marks the overlays of that set ``touched`` from the
request's authentication (the same script) and again under a write's lock, so a write made
through any process is seen by the next request anywhere. A touched overlay is read from
Redis, as before.

Redis down or restarting surfaces as ``errors.Unavailable`` (503) from every command
(``Client``): sockets time out, nothing hangs, and the next request reconnects.
"""
from __future__ import annotations

import bisect
import heapq
import threading
from collections import OrderedDict
from itertools import repeat
from typing import Any, Iterable, Iterator

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .errors import Unavailable
from .store import Collection, Journal, Key, Record

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.ReadOnlyError)
SOCKET_TIMEOUT = 2.0     # seconds a command may take before the request gets a 503
CONNECT_TIMEOUT = 1.0
FIRST_CHUNK = 32         # members read by a scan's first round trip; doubled each time after
MAX_CHUNK = 1024
FILL_BATCH = 5000        # records written per pipeline when a seeded data set is stored
COPY_BATCH = 2000        # records read per HSCAN when a process copies a seeded collection
HELD_BYTES = 512 * 2**20  # stored JSON of seeded collections a process keeps copies of

# chunk(sorted set, hash, hidden set or '', from, to, count, reverse): {members read, the
# last of them, [member, record, ...] of those not hidden}
_CHUNK_FUNCTION = """
local function chunk(z, h, x, from, to, n, reverse)
  local members
  if reverse == '1' then
    members = redis.call('ZREVRANGEBYLEX', z, from, to, 'LIMIT', 0, n)
  else
    members = redis.call('ZRANGEBYLEX', z, from, to, 'LIMIT', 0, n)
  end
  local out = {}
  for _, member in ipairs(members) do
    local id = string.match(member, '([^%z]*)$')
    if x == '' or redis.call('SISMEMBER', x, id) == 0 then
      local record = redis.call('HGET', h, id)
      if record then
        out[#out + 1] = member
        out[#out + 1] = record
      end
    end
  end
  return {#members, members[#members] or '', out}
end
"""
_CHUNK = _CHUNK_FUNCTION + "return chunk(KEYS[1], KEYS[2], KEYS[3] or '', ARGV[1], ARGV[2], ARGV[3], ARGV[4])"
# An overlay's first chunks, its own and its base's, in one round trip.
_FIRST_CHUNKS = _CHUNK_FUNCTION + """
return {chunk(KEYS[1], KEYS[2], '', ARGV[1], ARGV[2], ARGV[3], ARGV[4]),
        chunk(KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4])}
"""


class _Guarded:
    """Redis errors of a lost connection become ``Unavailable`` (a 503 in the API's shape)."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[misc]
        except REDIS_DOWN as exc:
            raise _unavailable(exc) from exc


class Pipeline(_Guarded, redis.client.Pipeline):
    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return super().execute(raise_on_error)
        except REDIS_DOWN as exc:
            raise _unavailable(exc) from exc


class Client(_Guarded, redis.Redis):
    """A redis-py client whose commands and pipelines fail as ``Unavailable``."""

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        return Pipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable("The sandbox's store (Redis) is not answering; retry in a moment.")


def connect(url: str) -> Client:
    """A client for ``redis://host:port/db`` that fails fast (one quick retry on a dropped
    connection, which is what a restarted server leaves in the pool)."""
    return Client.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT,
                           retry=Retry(NoBackoff(), 1), health_check_interval=0)


def _escape(part: Any) -> bytes:
    """One part of a sort key as bytes ordered as the text is, holding no NUL (the separator)."""
    return str(part).encode().replace(b"\x01", b"\x01\x02").replace(b"\x00", b"\x01\x01")


def _unescape(part: bytes) -> str:
    if b"\x01" not in part:
        return part.decode()  # nothing escaped (nearly always): no replace to run
    return part.replace(b"\x01\x01", b"\x00").replace(b"\x01\x02", b"\x01").decode()


def encode_key(key: Key) -> bytes:
    """A sort key as a sorted-set member: byte order of members is the order of the tuples."""
    return b"\x00".join(_escape(part) for part in key)


def decode_key(member: bytes) -> Key:
    return tuple(_unescape(part) for part in member.split(b"\x00"))


def _partition(part: Any) -> str | None:
    return None if part is None else str(part)


def _first(item: tuple[Key, Record]) -> Key:
    return item[0]


class RedisUsage:
    """``store.Usage`` in Redis: records a workspace wrote, added into the sandbox's total."""

    def __init__(self, client: Client, key: str, parent: "RedisUsage | None" = None) -> None:
        self.client, self.key, self.parent = client, key, parent

    @property
    def records(self) -> int:
        return int(self.client.get(self.key) or 0)

    def add(self, n: int, pipe: Any = None) -> None:
        if not n:
            return
        (pipe if pipe is not None else self.client).incrby(self.key, n)
        if self.parent is not None:
            self.parent.add(n, pipe)


class _Copy:
    """A seeded collection as stored, held by a process: its records by id (shared, as the
    in-memory store's are: never changed in place), and the members of each partition's
    sorted set (by partition as text, as the sorted set's name has it; None: everything) in
    Redis's (byte) order, with their keys decoded; ``size``: the bytes of its stored JSON."""

    def __init__(self, records: dict[str, Record], indexes: dict[str | None, tuple[list[bytes], list[Key]]],
                 size: int) -> None:
        self.records, self.indexes, self.size = records, indexes, size

    def scan(self, parent: Any, start: Key | None, reverse: bool, inclusive: bool) -> Iterator[tuple[Key, Record]]:
        """What ``RedisCollection._walk`` reads from Redis, from memory: same keys, same order."""
        members, keys = self.indexes.get(_partition(parent), ([], []))
        if start is None:
            i = len(members) - 1 if reverse else 0
        else:
            bound = encode_key(start)
            if reverse:
                i = (bisect.bisect_right if inclusive else bisect.bisect_left)(members, bound) - 1
            else:
                i = (bisect.bisect_left if inclusive else bisect.bisect_right)(members, bound)
        step = -1 if reverse else 1
        records = self.records
        while 0 <= i < len(keys):
            key = keys[i]
            yield key, records[key[-1]]
            i += step


class _Held:
    """The copies a process keeps, by the seeded collection's hash (its name says which data
    set: same name, same records), the least recently used dropped past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._copies: OrderedDict[str, _Copy] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def of(self, collection: "RedisCollection") -> _Copy:
        name = collection._hash
        with self._lock:
            copy = self._copies.get(name)
            if copy is not None:
                self._copies.move_to_end(name)
                return copy
        copy = collection._read_copy()  # not holding the lock: other collections' reads go on
        with self._lock:
            if name not in self._copies:
                self._copies[name] = copy
                self._size += copy.size
                while self._size > self.limit and len(self._copies) > 1:
                    self._size -= self._copies.popitem(last=False)[1].size
            return copy


_HELD = _Held(HELD_BYTES)


class RedisCollection:
    """``store.Collection`` kept in Redis under ``prefix`` (see the module's docstring)."""

    key = Collection.key
    _partitions = Collection._partitions

    def __init__(self, client: Client, name: str, order: tuple[str, ...], parent_field: str | None, prefix: str,
                 base: "RedisCollection | None" = None, usage: RedisUsage | None = None,
                 keys_set: str | None = None, written_key: str | None = None) -> None:
        self.client = client
        self.name, self.order, self.parent_field = name, order, parent_field
        self.prefix = prefix
        self._hash, self._hidden = f"{prefix}:h", f"{prefix}:x"
        self._base = base
        self._usage = usage
        self._keys_set = keys_set  # where every key this collection creates is listed
        self._written_key = written_key  # the workspace's set of the overlays written (their prefixes)
        self.touched = False  # an overlay that may differ from its base: read from Redis, not the copy
        self._chunk = client.register_script(_CHUNK)
        self._first_chunks = client.register_script(_FIRST_CHUNKS)
        self.journal: Journal | None = None
        self.frozen = False  # a seeded data set, stored and never written again: its size is kept
        self._length: int | None = None

    def overlay(self, prefix: str, usage: RedisUsage, keys_set: str, written_key: str) -> "RedisCollection":
        """An empty copy-on-write view of this collection under ``prefix``."""
        return RedisCollection(self.client, self.name, self.order, self.parent_field, prefix, self, usage, keys_set,
                               written_key)

    def _held(self) -> _Copy | None:
        """The process's copy to read instead of Redis: a seeded collection's, or its base's
        for an overlay nothing has written; None when Redis must be asked."""
        if self._base is not None:
            return None if self.touched else self._base._held()
        return _HELD.of(self) if self.frozen else None

    @property
    def shares_records(self) -> bool:
        """Whether reads return the process's copy's record objects (``store.Collection.shares_records``)."""
        return self._held() is not None

    def _read_copy(self) -> _Copy:
        """This seeded collection read whole (HSCAN in batches); its orderings are made here
        from the records, as ``fill`` made the stored ones."""
        stored = dict(self.client.hscan_iter(self._hash, count=COPY_BATCH))  # HSCAN may repeat a field
        records = {_unescape(field): orjson.loads(text) for field, text in stored.items()}
        members: dict[str | None, list[bytes]] = {}
        for record in records.values():
            member = encode_key(self.key(record))
            for part in self._partitions(record):
                members.setdefault(_partition(part), []).append(member)
        indexes = {}
        for part, ordered in members.items():
            ordered.sort()
            indexes[part] = (ordered, [decode_key(member) for member in ordered])
        return _Copy(records, indexes, sum(len(field) + len(text) for field, text in stored.items()))

    def _index(self, part: Any) -> str:
        return f"{self.prefix}:z" if part is None else f"{self.prefix}:z:{part}"

    # -- reads ---------------------------------------------------------------------------

    def _read(self, record_id: str) -> tuple[bytes | None, bool, bytes | None]:
        """(own record, hidden, base record), as stored, in one round trip."""
        field = _escape(record_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self._hash, field)
        if self._base is None:
            return pipe.execute()[0], False, None
        pipe.sismember(self._hidden, field)
        pipe.hget(self._base._hash, field)
        own, hidden, base = pipe.execute()
        return own, bool(hidden), base

    @staticmethod
    def _visible(own: bytes | None, hidden: bool, base: bytes | None) -> Record | None:
        if own is not None:
            return orjson.loads(own)
        return orjson.loads(base) if base is not None and not hidden else None

    def get(self, record_id: str) -> Record | None:
        if not isinstance(record_id, str):
            return None
        held = self._held()
        if held is not None:
            return held.records.get(record_id)
        return self._visible(*self._read(record_id))

    def get_many(self, record_ids: Iterable[str]) -> dict[str, Record]:
        """``store.Collection.get_many`` in one round trip (own, hidden and base of every id)."""
        ids = list(dict.fromkeys(i for i in record_ids if isinstance(i, str)))
        if not ids:
            return {}
        held = self._held()
        if held is not None:
            return {i: held.records[i] for i in ids if i in held.records}
        fields = [_escape(i) for i in ids]
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self._hash, fields)
        if self._base is None:
            rows = zip(pipe.execute()[0], repeat(False), repeat(None))
        else:
            pipe.smismember(self._hidden, fields)
            pipe.hmget(self._base._hash, fields)
            rows = zip(*pipe.execute())
        found = {}
        for record_id, (own, hidden, base) in zip(ids, rows):
            record = self._visible(own, bool(hidden), base)
            if record is not None:
                found[record_id] = record
        return found

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and self.get(record_id) is not None

    def __len__(self) -> int:
        if self._length is not None:
            return self._length
        if self._base is not None and not self.touched:
            return len(self._base)
        if self._base is None:
            length = self.client.zcard(self._index(None))
            if self.frozen:
                self._length = length
            return length
        base = len(self._base)
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(self._index(None))
        pipe.scard(self._hidden)
        own, hidden = pipe.execute()
        return own + base - hidden

    @property
    def written(self) -> int:
        if self._base is not None and not self.touched:
            return 0
        return self.client.hlen(self._hash)

    def differs(self, record: Record) -> bool:
        return self._base is None or self._base.get(record.get("id")) != record

    @staticmethod
    def _bounds(start: Key | None, reverse: bool, inclusive: bool) -> tuple[bytes, bytes]:
        """ZRANGEBYLEX's (from, to) for a walk from ``start``."""
        if start is None:
            bound = b"+" if reverse else b"-"
        else:
            bound = (b"[" if inclusive else b"(") + encode_key(start)
        return bound, (b"-" if reverse else b"+")

    def _walk(self, index: str, hidden: str | None, bounds: tuple[bytes, bytes], reverse: bool,
              first: list[Any] | None = None) -> Iterator[tuple[Key, Record]]:
        """(key, record) from ``bounds``, one chunk per round trip (``first``: already read)."""
        bound, end = bounds
        keys = [index, self._hash] + ([hidden] if hidden else [])
        count = FIRST_CHUNK
        while True:
            read, last, flat = first or self._chunk(keys=keys, args=[bound, end, count, int(reverse)])
            first = None
            for i in range(0, len(flat), 2):
                yield decode_key(flat[i]), orjson.loads(flat[i + 1])
            if read < count:
                return
            bound = b"(" + last
            count = min(count * 2, MAX_CHUNK)

    def scan(self, parent: Any = None, start: Key | None = None, reverse: bool = False,
             inclusive: bool = False) -> Iterator[tuple[Key, Record]]:
        """(key, record) in order (or reverse) from ``start``, own writes merged with the base
        (whose first chunk is read with this collection's, in one round trip)."""
        held = self._held()
        if held is not None:
            return held.scan(parent, start, reverse, inclusive)
        bounds = self._bounds(start, reverse, inclusive)
        if self._base is None:
            return self._walk(self._index(parent), None, bounds, reverse)
        base = self._base
        own_first, base_first = self._first_chunks(
            keys=[self._index(parent), self._hash, base._index(parent), base._hash, self._hidden],
            args=[*bounds, FIRST_CHUNK, int(reverse)])
        own = self._walk(self._index(parent), None, bounds, reverse, own_first)
        shown = base._walk(base._index(parent), self._hidden, bounds, reverse, base_first)
        return heapq.merge(own, shown, key=_first, reverse=reverse)

    def values(self, parent: Any = None, reverse: bool = False) -> Iterator[Record]:
        return (record for _, record in self.scan(parent, reverse=reverse))

    # -- writes (the caller holds the workspace's write lock) ----------------------------

    def _unindex(self, pipe: Any, record: Record) -> None:
        member = encode_key(self.key(record))
        for part in self._partitions(record):
            pipe.zrem(self._index(part), member)

    def _store(self, pipe: Any, record: Record) -> None:
        pipe.hset(self._hash, _escape(record["id"]), orjson.dumps(record))
        member = encode_key(self.key(record))
        indexes = [self._index(part) for part in self._partitions(record)]
        for index in indexes:
            pipe.zadd(index, {member: 0})
        if self._keys_set is not None:
            pipe.sadd(self._keys_set, self._hash, self._hidden, *indexes)

    def _change(self, record_id: str, new: Record | None) -> Record | None:
        """Delete ``record_id`` and, with ``new``, put it: one read and one MULTI.
        Returns the record seen before."""
        self.touched = True  # from now on this process reads it from Redis
        own, hidden, base = self._read(record_id)
        before = self._visible(own, hidden, base)
        if self.journal is not None:
            self.journal.append((self, record_id, before))  # type: ignore[arg-type]
        field = _escape(record_id)
        grow = 0
        pipe = self.client.pipeline(transaction=True)
        if own is not None:
            self._unindex(pipe, orjson.loads(own))
            pipe.hdel(self._hash, field)
            grow -= 1
        if new is not None and base is not None and orjson.loads(base) == new:
            pipe.srem(self._hidden, field)  # back to the base record: nothing of our own to hold
        else:
            if base is not None:
                pipe.sadd(self._hidden, field)
                if self._keys_set is not None:
                    pipe.sadd(self._keys_set, self._hidden)
            if new is not None:
                self._store(pipe, new)
                grow += 1
        if self._usage is not None:
            self._usage.add(grow, pipe)
        if self._written_key is not None:
            pipe.sadd(self._written_key, self.prefix)
        pipe.execute()
        return before

    def put(self, record: Record) -> Record:
        self._change(record["id"], record)
        return record

    def delete(self, record_id: str) -> Record | None:
        return self._change(record_id, None)

    def fill(self, records: list[Record]) -> None:
        """Write a seeded data set into this (empty, base) collection: per batch one HSET of
        many fields and one ZADD of many members per sorted set."""
        for start in range(0, len(records), FILL_BATCH):
            batch = records[start:start + FILL_BATCH]
            indexes: dict[str, dict[bytes, int]] = {}
            for record in batch:
                member = encode_key(self.key(record))
                for part in self._partitions(record):
                    indexes.setdefault(self._index(part), {})[member] = 0
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(self._hash, mapping={_escape(r["id"]): orjson.dumps(r) for r in batch})
            for index, members in indexes.items():
                pipe.zadd(index, members)
            pipe.execute()
