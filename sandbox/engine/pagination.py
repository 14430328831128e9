"""Pagination strategies: the handler says what matches, the strategy cuts the page.

Cursors are opaque: base64url of the position (the sort key of an item) plus a
fingerprint of the query that made them, with a MAC so a hand-edited cursor is rejected
rather than trusted. They are deterministic (no clock, no random), so the same reads
give the same bytes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice, takewhile
from typing import Any, Callable, Iterator

import orjson

from .errors import BadRequest, Detail, InvalidCursor
from .store import Collection, Key, Record

_MAC_KEY = b"sandbox-cursor-v1"


@dataclass
class Page:
    """One page of a list, with everything any API's envelope may want to show.

    A keyset page's cursors are encoded when an envelope asks for them (one that shows only
    the next cursor of a last page asks for none): ``edges`` holds the sort keys of its first
    and last items and ``bound_to`` the fingerprint of the query they belong to."""

    items: list[Record]
    limit: int
    offset: int | None = None
    has_next: bool = False
    has_previous: bool = False
    total: int | None = None
    number: int | None = None  # page-number strategy: this page's number, from 1
    edges: tuple[Key, Key] | None = None
    bound_to: str = ""
    public: bool = False  # the items are what clients see (a handler built them from named fields)

    @property
    def start_cursor(self) -> str | None:
        return encode_cursor(self.edges[0], self.bound_to) if self.edges else None

    @property
    def end_cursor(self) -> str | None:
        return encode_cursor(self.edges[1], self.bound_to) if self.edges else None

    @property
    def last_number(self) -> int:
        """The number of the last page (an empty list has one, empty, page)."""
        return max(1, -(-(self.total or 0) // self.limit))

    @property
    def next_cursor(self) -> str | None:
        return self.end_cursor if self.has_next else None


def fingerprint(bound: dict[str, Any]) -> str:
    """A short digest of what a cursor is bound to (filters, parent id)."""
    return hashlib.sha256(orjson.dumps(bound, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:16]


def _mac(payload: bytes) -> bytes:
    return hmac.digest(_MAC_KEY, payload, "sha256")[:8]


@lru_cache(maxsize=4096)  # deterministic: the edges of a list's first pages are asked for again and again
def encode_cursor(key: Key, query: str) -> str:
    payload = orjson.dumps({"k": key, "q": query})
    mac = _mac(payload)
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, query: str, field: str) -> Key:
    """The position in a cursor this API issued for this same query, else InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, mac = raw[:-8], raw[-8:]
        if not hmac.compare_digest(mac, _mac(payload)):
            raise ValueError("bad mac")
        data = orjson.loads(payload)
        key = tuple(data["k"])
        if not key or not all(isinstance(part, (str, int)) for part in key):
            raise ValueError("bad key")
    except (ValueError, KeyError, TypeError):
        raise InvalidCursor(
            f"{field} is not a cursor this API issued.",
            [Detail(field, "is not a cursor this API issued; use start_cursor/end_cursor from a response")],
        ) from None
    if data.get("q") != query:
        raise InvalidCursor(
            f"{field} was issued for a different query; a cursor only works with the filters it came from.",
            [Detail(field, "was issued for a different query (other filters or another parent)")],
        )
    return key


def cursor_page(collection: Collection, *, parent: Any = None, match: Callable[[Record], bool] | None = None,
                limit: int, after: str | None = None, before: str | None = None,
                bound: dict[str, Any] | None = None, descending: bool = False,
                count_total: bool = False, after_param: str = "query.after",
                before_param: str = "query.before", lower: Key | None = None,
                upper: Key | None = None) -> Page:
    """Keyset pagination in both directions over ``collection`` (or one parent's part of it).

    Items are never skipped or repeated at a page boundary, even while others are created,
    because each page starts from the sort key of the previous page's edge item.
    ``lower`` / ``upper`` (inclusive sort keys) narrow the walk to a slice of the order, so a
    range filter on the order's fields costs O(log n + what lies in the range), not O(n);
    ``match`` still decides each item inside it (None: every item matches).
    """
    if after is not None and before is not None:
        raise BadRequest("Give either after or before, not both.",
                         [Detail(before_param, "cannot be combined with after")])
    query = fingerprint({"list": collection.name, "parent": parent, **(bound or {})})

    def walk(start: Key | None, backwards: bool, inclusive: bool = False) -> Iterator[tuple[Key, Record]]:
        reverse = backwards != descending
        first, last = (upper, lower) if reverse else (lower, upper)
        if first is not None and (start is None or (start < first if not reverse else start > first)):
            start, inclusive = first, True
        items = collection.scan(parent, start, reverse, inclusive)
        if last is not None:
            items = takewhile((lambda i: i[0] >= last) if reverse else (lambda i: i[0] <= last), items)
        return items if match is None else ((k, r) for k, r in items if match(r))

    if before is not None:
        start = decode_cursor(before, query, before_param)
        got = list(islice(walk(start, True), limit + 1))
        has_previous, got = len(got) > limit, got[:limit][::-1]
        has_next = next(walk(start, False, inclusive=True), None) is not None
    else:
        start = decode_cursor(after, query, after_param) if after is not None else None
        got = list(islice(walk(start, False), limit + 1))
        has_next, got = len(got) > limit, got[:limit]
        has_previous = start is not None and next(walk(start, True, inclusive=True), None) is not None
    total = None
    if count_total:  # a first page that holds every match has counted them already
        whole = start is None and before is None and not has_next
        total = len(got) if whole else sum(1 for _ in walk(None, False))
    return Page(
        items=[r for _, r in got],
        limit=limit,
        has_next=has_next,
        has_previous=has_previous,
        total=total,
        edges=(got[0][0], got[-1][0]) if got else None,
        bound_to=query,
    )


def number_page(records: Iterator[Record], *, number: int, size: int) -> Page:
    """Page-number pagination (JSON:API ``page[number]`` / ``page[size]``) over an ordered,
    already-filtered sequence; the whole sequence is counted for the page total."""
    items: list[Record] = []
    start = (number - 1) * size
    total = 0
    for total, record in enumerate(records, start=1):
        if start < total <= start + size:
            items.append(record)
    return Page(items=items, limit=size, offset=start, has_next=total > start + size,
                has_previous=number > 1, total=total, number=number)


def offset_page(records: Iterator[Record], *, limit: int, offset: int) -> Page:
    """Offset pagination over an ordered, already-filtered sequence."""
    items = list(islice(records, offset, offset + limit + 1))
    return Page(items=items[:limit], limit=limit, offset=offset, has_next=len(items) > limit,
                has_previous=offset > 0)
