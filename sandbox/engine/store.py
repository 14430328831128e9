"""In-memory workspace store: plain JSON-able records in ordered, partitioned collections.

The interface is small on purpose (get / put / delete / ordered scan, within a workspace)
so that a shared backend can replace it without touching a handler.
"""
from __future__ import annotations

import bisect
import heapq
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping

from .inline import offload

Record = dict[str, Any]
Key = tuple[Any, ...]
Journal = list[tuple["Collection", str, "Record | None"]]  # (collection, id, record before the change)


class Usage:
    """A running count of records a workspace wrote itself, added up into the whole sandbox's."""

    def __init__(self, parent: "Usage | None" = None) -> None:
        self.records = 0
        self.parent = parent
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.records += n
        if self.parent is not None:
            self.parent.add(n)


class Collection:
    """Records of one kind, ordered by ``order`` fields then id, optionally grouped by a parent.

    ``scan`` walks the order from a key in either direction in O(log n + k), so a page deep
    in a list costs what the first page costs.

    A collection may be an overlay (copy on write) over a shared ``base`` that nobody
    writes: it holds only its own writes and the base ids it hides (deleted or replaced),
    so it costs memory in proportion to its writes, not to the seeded data. Records are
    plain JSON-able dicts and are shared with the base: never change one in place, put a
    changed copy.
    """

    def __init__(self, name: str, order: tuple[str, ...] = ("created_at",), parent_field: str | None = None,
                 base: "Collection | None" = None, usage: Usage | None = None) -> None:
        self.name = name
        self.order = order
        self.parent_field = parent_field
        self._records: dict[str, Record] = {}
        self._keys: dict[Any, list[Key]] = {}  # partition -> sorted keys (None: everything)
        self._base = base
        self._hidden: set[str] = set()  # ids of base records deleted or replaced here
        self._usage = usage
        self.journal: Journal | None = None  # set during a transaction: how to undo each change

    shares_records = True  # reads return the stored record objects themselves: what is built from one may be kept

    def overlay(self, usage: Usage | None = None) -> "Collection":
        """An empty copy-on-write view of this collection (which must no longer change)."""
        return Collection(self.name, self.order, self.parent_field, base=self, usage=usage)

    @property
    def written(self) -> int:
        """Records this collection holds itself (all of them, for a collection without a base)."""
        return len(self._records)

    def differs(self, record: Record) -> bool:
        """Whether putting ``record`` would hold it here (it is not its base record, unchanged)."""
        return self._base is None or self._base.get(record.get("id")) != record

    def key(self, record: Record) -> Key:
        return tuple(record[f] for f in self.order) + (record["id"],)

    def _partitions(self, record: Record) -> tuple[Any, ...]:
        if self.parent_field is None:
            return (None,)
        return (None, record.get(self.parent_field))

    def _base_get(self, record_id: str) -> Record | None:
        if self._base is None or record_id in self._hidden:
            return None
        return self._base.get(record_id)

    def __len__(self) -> int:
        base = len(self._base) - len(self._hidden) if self._base is not None else 0
        return len(self._records) + base

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records or (isinstance(record_id, str) and self._base_get(record_id) is not None)

    def get(self, record_id: str) -> Record | None:
        record = self._records.get(record_id)
        return record if record is not None else self._base_get(record_id)

    def get_many(self, record_ids: Iterable[str]) -> dict[str, Record]:
        """The records of ``record_ids`` that exist, by id (one round trip in a shared store)."""
        found = {}
        for record_id in record_ids:
            record = self.get(record_id)
            if record is not None:
                found[record_id] = record
        return found

    def put(self, record: Record) -> Record:
        self.delete(record["id"])
        if self._base is not None and self._base.get(record["id"]) == record:
            self._hidden.discard(record["id"])  # back to the base record: nothing of our own to hold
            return record
        self._records[record["id"]] = record
        key = self.key(record)
        for part in self._partitions(record):
            bisect.insort(self._keys.setdefault(part, []), key)
        self._count(1)
        return record

    def fill(self, records: list[Record]) -> None:
        """Load many records into an empty collection without a base at once (O(n log n):
        one sort per partition, not an insertion each)."""
        assert self._base is None and not self._records, "fill starts an empty base collection"
        for record in records:
            self._records[record["id"]] = record
        for record in self._records.values():
            key = self.key(record)
            for part in self._partitions(record):
                self._keys.setdefault(part, []).append(key)
        for keys in self._keys.values():
            keys.sort()
        self._count(len(self._records))

    def delete(self, record_id: str) -> Record | None:
        if self.journal is not None:
            self.journal.append((self, record_id, self.get(record_id)))
        old = self._records.pop(record_id, None)
        if old is not None:
            key = self.key(old)
            for part in self._partitions(old):
                keys = self._keys[part]
                del keys[bisect.bisect_left(keys, key)]
            self._count(-1)
        base = self._base_get(record_id)
        if base is not None:
            self._hidden.add(record_id)
        return old if old is not None else base

    def clear(self) -> None:
        """Forget every own write (the base shows through again)."""
        self._count(-len(self._records))
        self._records, self._keys, self._hidden = {}, {}, set()

    def _count(self, n: int) -> None:
        if self._usage is not None and n:
            self._usage.add(n)

    def scan(self, parent: Any = None, start: Key | None = None, reverse: bool = False,
             inclusive: bool = False) -> Iterator[tuple[Key, Record]]:
        """(key, record) in order (or reverse) from ``start`` (exclusive unless ``inclusive``).

        With a base, its scan and this overlay's are merged by key, skipping hidden base ids.
        """
        own = self._scan_own(parent, start, reverse, inclusive)
        if self._base is None:
            return own
        hidden = self._hidden
        shown = self._base.scan(parent, start, reverse, inclusive)
        if hidden:
            shown = ((k, r) for k, r in shown if k[-1] not in hidden)
        if not self._keys.get(parent):
            return shown  # nothing of its own here: the base alone
        return heapq.merge(own, shown, key=_first, reverse=reverse)

    def _scan_own(self, parent: Any, start: Key | None, reverse: bool, inclusive: bool) -> Iterator[tuple[Key, Record]]:
        keys = self._keys.get(parent, [])
        if reverse:
            if start is None:
                i = len(keys) - 1
            else:
                i = (bisect.bisect_right if inclusive else bisect.bisect_left)(keys, start) - 1
            while 0 <= i < len(keys):
                key = keys[i]
                yield key, self._records[key[-1]]
                i -= 1
        else:
            if start is None:
                i = 0
            else:
                i = (bisect.bisect_left if inclusive else bisect.bisect_right)(keys, start)
            while i < len(keys):
                key = keys[i]
                yield key, self._records[key[-1]]
                i += 1

    def values(self, parent: Any = None, reverse: bool = False) -> Iterator[Record]:
        return (record for _, record in self.scan(parent, reverse=reverse))


def _first(item: tuple[Key, Record]) -> Key:
    return item[0]


class ByApi(Mapping[str, dict[str, Collection]]):
    """API name -> its collections, each API's made the first time it is read: a data set's
    base collections (``workspaces.Registry.dataset``) or a workspace's overlays on them.

    An API is made once, under a lock of its own: concurrent first readers wait for one
    making, and readers of the other APIs do not wait at all. ``made`` holds those made so
    far (iterating the mapping's values makes every API; its keys make none)."""

    def __init__(self, apis: Iterable[str], make: Callable[[str], dict[str, Collection]]) -> None:
        self._make = make
        self._locks = {api: threading.Lock() for api in apis}
        self.made: dict[str, dict[str, Collection]] = {}

    def __getitem__(self, api: str) -> dict[str, Collection]:
        made = self.made.get(api)
        if made is None:
            offload()  # inline (the server's event loop): made in a thread instead, holding up no one
            with self._locks[api]:  # KeyError for an API that is not one of the mapping's
                made = self.made.get(api)
                if made is None:
                    made = self.made[api] = self._make(api)
        return made

    def __contains__(self, api: object) -> bool:
        return api in self._locks

    def __iter__(self) -> Iterator[str]:
        return iter(self._locks)

    def __len__(self) -> int:
        return len(self._locks)


def made_collections(collections: Mapping[str, dict[str, Collection]]) -> list[Collection]:
    """The collections that exist so far: the ones ``ByApi`` made, or all of a plain mapping."""
    made = collections.made if isinstance(collections, ByApi) else collections
    so_far = list(made.values())  # a copy, taken at once: another thread may make an API meanwhile
    return [collection for by_name in so_far for collection in by_name.values()]


@dataclass(eq=False)
class Workspace:
    """One isolated view of every API's data, selected by a bearer token.

    Its collections are overlays over one shared seeded data set (see ``Collection``):
    creating or resetting a workspace copies nothing, and ``usage`` counts what it wrote.
    An API's overlays (and its seeded data, if no one read it before) are made the first
    time the workspace reads that API (``ByApi``).
    """

    name: str
    token: str
    client_id: str
    client_secret: str
    seed: int
    scale: int
    collections: Mapping[str, dict[str, Collection]] = field(default_factory=dict)  # api -> name -> coll
    rate_limit: float | None = None    # requests per second, None: unlimited
    delay_ms: int = 0                  # added to every request unless Prefer: delay= says otherwise
    expires: bool = True               # idle expiry applies (never to the default workspace)
    scenario: dict[str, Any] | None = field(default=None, repr=False)  # loaded at creation and each reset
    usage: Usage = field(default_factory=Usage, repr=False)
    traffic: Any = field(default=None, repr=False)  # per-workspace request state (engine.controls)
    last_used: float = field(default_factory=time.monotonic, repr=False)
    alive: bool = field(default=True, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    rng: random.Random = field(init=False, repr=False)
    _last_now: datetime = field(default=datetime.min.replace(tzinfo=timezone.utc), repr=False)
    _journal: Journal | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.restart_ids()

    def restart_ids(self, salt: str = "") -> None:
        """Ids of created records restart from the seed: the same creates give the same ids.

        ``salt`` (an import's digest) starts another sequence, so new ids cannot repeat
        the ids of imported records that an earlier run of the same sequence made."""
        self.rng = random.Random(f"{self.seed}:{self.name}:ids{salt}")

    def cover(self, base: Mapping[str, dict[str, Collection]]) -> None:
        """Start over as empty overlays on the shared ``base`` collections (api -> name -> coll),
        each API's made when first read."""
        for collection in made_collections(self.collections):
            collection.clear()
        self.collections = ByApi(base, lambda api: self._journaled(
            {name: coll.overlay(self.usage) for name, coll in base[api].items()}))

    def _journaled(self, collections: dict[str, Any]) -> dict[str, Any]:
        """Collections made during a transaction are part of it: their changes are journaled too."""
        for collection in collections.values():
            collection.journal = self._journal
        return collections

    def collection(self, api: str, name: str) -> Collection:
        return self.collections[api][name]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: if the block raises, every record, the id sequence and the clock
        are put back as they were, so a failed write leaves the workspace untouched.
        A transaction inside another is part of the outer one."""
        if self._journal is not None:
            yield
            return
        journal: Journal = []
        collections_before = self.collections
        rng, last_now = self.rng.getstate(), self._last_now
        self._journal = journal
        for collection in made_collections(self.collections):
            collection.journal = journal

        def detach() -> None:  # collections_before's, and those of a reset inside the block
            for collection in made_collections(collections_before) + made_collections(self.collections):
                collection.journal = None

        try:
            yield
        except BaseException:
            detach()
            for collection, record_id, old in reversed(journal):
                collection.delete(record_id)
                if old is not None:
                    collection.put(old)  # an unchanged base record shows through again
            self.collections = collections_before  # a reset inside swapped in new collections
            self.rng.setstate(rng)
            self._last_now = last_now
            raise
        finally:
            self._journal = None
            detach()

    def now(self) -> datetime:
        """The current time at millisecond precision, strictly increasing within the workspace,
        so a record created now sorts after every record created before it."""
        now = datetime.now(timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_now:
            now = self._last_now + timedelta(milliseconds=1)
        self._last_now = now
        return now
