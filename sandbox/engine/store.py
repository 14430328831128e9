"""In-memory workspace store: plain JSON-able records in ordered, partitioned collections.

The interface is small on purpose (get / put / delete / ordered scan, within a workspace)
so that a shared backend can replace it without touching a handler.
"""
from __future__ import annotations

import bisect
import random
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

Journal = list[tuple["Collection", str, "Record | None"]]  # (collection, id, record before the change)

Record = dict[str, Any]
Key = tuple[Any, ...]


class Collection:
    """Records of one kind, ordered by ``order`` fields then id, optionally grouped by a parent.

    ``scan`` walks the order from a key in either direction in O(log n + k), so a page deep
    in a list costs what the first page costs.
    """

    def __init__(self, name: str, order: tuple[str, ...] = ("created_at",), parent_field: str | None = None) -> None:
        self.name = name
        self.order = order
        self.parent_field = parent_field
        self._records: dict[str, Record] = {}
        self._keys: dict[Any, list[Key]] = {}  # partition -> sorted keys (None: everything)
        self.journal: Journal | None = None     # set during a transaction: how to undo each change

    def key(self, record: Record) -> Key:
        return tuple(record[f] for f in self.order) + (record["id"],)

    def _partitions(self, record: Record) -> tuple[Any, ...]:
        if self.parent_field is None:
            return (None,)
        return (None, record.get(self.parent_field))

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records

    def get(self, record_id: str) -> Record | None:
        return self._records.get(record_id)

    def put(self, record: Record) -> Record:
        self.delete(record["id"])
        self._insert(record)
        return record

    def _insert(self, record: Record) -> None:
        self._records[record["id"]] = record
        key = self.key(record)
        for part in self._partitions(record):
            bisect.insort(self._keys.setdefault(part, []), key)

    def delete(self, record_id: str) -> Record | None:
        old = self._records.pop(record_id, None)
        if self.journal is not None:
            self.journal.append((self, record_id, old))
        if old is not None:
            key = self.key(old)
            for part in self._partitions(old):
                keys = self._keys[part]
                del keys[bisect.bisect_left(keys, key)]
        return old

    def scan(self, parent: Any = None, start: Key | None = None, reverse: bool = False,
             inclusive: bool = False) -> Iterator[tuple[Key, Record]]:
        """(key, record) in order (or reverse) from ``start`` (exclusive unless ``inclusive``)."""
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


@dataclass
class Workspace:
    """One isolated copy of every API's data, selected by a bearer token."""

    name: str
    token: str
    client_id: str
    client_secret: str
    seed: int
    scale: int
    collections: dict[str, dict[str, Collection]] = field(default_factory=dict)  # api -> name -> coll
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    rng: random.Random = field(init=False, repr=False)
    _last_now: datetime = field(default=datetime.min.replace(tzinfo=timezone.utc), repr=False)
    _journal: Journal | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.restart_ids()

    def restart_ids(self) -> None:
        """Ids of created records restart from the seed: the same creates give the same ids."""
        self.rng = random.Random(f"{self.seed}:{self.name}:ids")

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
        touched = [c for by_name in self.collections.values() for c in by_name.values()]
        rng, last_now = self.rng.getstate(), self._last_now
        self._journal = journal
        for collection in touched:
            collection.journal = journal
        try:
            yield
        except BaseException:
            for collection in touched:
                collection.journal = None
            for collection, record_id, old in reversed(journal):
                collection.delete(record_id)
                if old is not None:
                    collection._insert(old)
            self.collections = collections_before  # a reset inside swapped in new collections
            self.rng.setstate(rng)
            self._last_now = last_now
            raise
        finally:
            self._journal = None
            for collection in touched:
                collection.journal = None

    def now(self) -> datetime:
        """The current time at millisecond precision, strictly increasing within the workspace,
        so a record created now sorts after every record created before it."""
        now = datetime.now(timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_now:
            now = self._last_now + timedelta(milliseconds=1)
        self._last_now = now
        return now
