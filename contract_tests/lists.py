"""Pagination and filters, checked by walking whole lists.

- ``pagination``: a walk in small pages yields every item exactly once, the same items a walk
  in large pages yields; ``page_size``: no page is longer than asked, the maximum is enforced
  (a larger size is refused) and the default holds; ``totals``: a count the body carries
  equals what the walk yields; ``cursor_directions``: a backward cursor from page 2 gives
  page 1 again.
- ``filters``: every item a filtered walk yields satisfies the filter, an item known to match
  is found, and two filters together keep only items that satisfy both.

Which query parameter filters which field, and how, is the table below (from each parameter's
description); a parameter named like an item field filters that field by equality without an
entry.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable

from .judge import Judge
from .resolve import Resolver
from .spec import Op, dig

SMALL_PAGE = 3
MAX_PAGES = 200
# API -> query parameter -> (item field, how it matches). Only what a parameter's name cannot say.
FILTERS: dict[str, dict[str, tuple[str, str]]] = {
    "payments": {"company_name": ("name", "icontains"), "created_at_start": ("created_at", "gte"),
                 "created_at_end": ("created_at", "lte")},
    "exemptions": {"search_term": ("name", "icontains")},
    "commerce": {"filter[name]": ("attributes.name", "equals"), "filter[ids]": ("id", "one_of")},
}


def identity(item: Any) -> str:
    return str(item["id"]) if isinstance(item, dict) and "id" in item else json.dumps(item, sort_keys=True)


def required_args(judge: Judge, resolver: Resolver, op: Op, checks: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``resolver.args(op)``; if a required parameter has no value, None, noted in the report."""
    args = resolver.args(op)
    if args is None:
        judge.report.notes.append(f"{op.label}: no value for a required parameter; {checks} checks skipped")
    return args


class ListProbe:
    def __init__(self, judge: Judge, resolver: Resolver) -> None:
        self.judge = judge
        self.resolver = resolver

    def run(self, op: Op) -> None:
        args = required_args(self.judge, self.resolver, op, "list")
        if args is None:
            return
        path, query = args
        _, maximum = op.size_bounds(doc=False)
        big = maximum or 100
        full = self.walk(op, path, {**query, **self._size(op, big)}, limit=big)
        if full is None:
            return
        self._page_size(op, path, query, maximum)
        if op.cursors or op.offset:
            size = max(1, min(SMALL_PAGE, len(full) - 1))  # at least two pages when there are two items
            small = self.walk(op, path, {**query, **self._size(op, size)}, limit=size)
            if small is not None:
                self._compare_walks(op, full, small, size)
                self._backwards(op, path, query)
        self._filters(op, path, query, full, big)

    # -- walking --------------------------------------------------------------------------------

    def _size(self, op: Op, size: int) -> dict[str, int]:
        return {op.page_size: size} if op.page_size else {}

    def walk(self, op: Op, path: dict[str, Any], query: dict[str, Any], limit: int | None = None,
             check: str = "pagination") -> list[Any] | None:
        """Every item of the list, page by page (None if the first page is not a 200)."""
        items: list[Any] = []
        pages = 0
        while pages < MAX_PAGES:
            case, response = self.judge.request(op, path, query)
            if response.status_code != 200:
                return None if pages == 0 else items
            body = response.json()
            page = dig(body, op.items_key) or []
            pages += 1
            if limit is not None and op.page_size:
                self.judge.verify(op, "page_size", len(page) <= limit,
                                  f"asked for {limit} items, got a page of {len(page)}", case)
            if op.total_key and pages == 1:
                first_total = (dig(body, op.total_key), case)
            items.extend(page)
            following = self._next_query(op, query, body, page, limit)
            if following is None:
                break
            query = following
        if op.total_key and pages:
            total, case = first_total
            self.judge.verify(op, "totals", total == len(items),
                              f"{'.'.join(op.total_key)} is {total} but the walk yielded {len(items)} items", case,
                              derived=op.total_derived)
        return items

    def _next_query(self, op: Op, query: dict[str, Any], body: Any, page: list[Any],
                    limit: int | None) -> dict[str, Any] | None:
        if not page:
            return None
        forward = [c for c in op.cursors if not c.backwards]
        if forward:
            value = dig(body, forward[0].pointer)
            return {**query, forward[0].param: value} if value not in (None, "") else None
        if op.offset and limit is not None and len(page) >= limit:
            return {**query, op.offset: query.get(op.offset, 0) + len(page)}
        return None

    # -- checks ----------------------------------------------------------------------------------

    def _compare_walks(self, op: Op, full: list[Any], small: list[Any], size: int) -> None:
        ids = [identity(i) for i in small]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        missing = sorted({identity(i) for i in full} - set(ids))
        extra = sorted(set(ids) - {identity(i) for i in full})
        case = self.judge.case(op)
        self.judge.verify(op, "pagination", not (repeated or missing or extra),
                          f"walking pages of {size}: repeated {repeated[:5]}, missing {missing[:5]}, "
                          f"unexpected {extra[:5]} (against one walk in large pages of {len(full)} items)", case)

    def _page_size(self, op: Op, path: dict[str, Any], query: dict[str, Any], maximum: int | None) -> None:
        default, _ = op.size_bounds(doc=False)
        doc_default, doc_maximum = op.size_bounds(doc=True)
        if default:
            case, response = self.judge.request(op, path, query)
            page = dig(response.json(), op.items_key) or [] if response.status_code == 200 else []
            self.judge.verify(op, "page_size", len(page) <= default,
                              f"without {op.page_size}, a page of {len(page)} (default {default})",
                              case, derived=doc_default is None)
        if maximum and op.documents(400):
            case, response = self.judge.request(op, path, {**query, op.page_size: maximum + 1})
            self.judge.verify(op, "page_size", response.status_code == 400,
                              f"{op.page_size}={maximum + 1} is above the maximum {maximum}: expected 400, "
                              f"got {response.status_code}", case, derived=doc_maximum is None)

    def _backwards(self, op: Op, path: dict[str, Any], query: dict[str, Any]) -> None:
        forward = [c for c in op.cursors if not c.backwards]
        backward = [c for c in op.cursors if c.backwards]
        if not (forward and backward):
            return
        first_query = {**query, **self._size(op, SMALL_PAGE)}
        _, first = self.judge.request(op, path, first_query)
        after = dig(first.json(), forward[0].pointer) if first.status_code == 200 else None
        if not after:
            return
        _, second = self.judge.request(op, path, {**first_query, forward[0].param: after})
        before = dig(second.json(), backward[0].pointer) if second.status_code == 200 else None
        if not before or not dig(second.json(), op.items_key):
            return
        case, back = self.judge.request(op, path, {**first_query, backward[0].param: before})
        expected = [identity(i) for i in dig(first.json(), op.items_key)]
        got = [identity(i) for i in dig(back.json(), op.items_key) or []] if back.status_code == 200 else []
        self.judge.verify(op, "cursor_directions", sorted(got) == sorted(expected),
                          f"{backward[0].param} from page 2 gave {got[:5]}, page 1 was {expected[:5]}", case)

    def _filters(self, op: Op, path: dict[str, Any], query: dict[str, Any], items: list[Any], size: int) -> None:
        table = FILTERS.get(self.judge.spec.name, {})
        usable = []
        for name, param in op.params.items():
            if param["in"] != "query" or name in query:
                continue
            field, how = table.get(name) or ((name, "equals") if _equality_field(op, name) else (None, None))
            if field is None:
                continue
            known = next((i for i in items if isinstance(i, dict) and _scalar(_field(i, field))), None)
            if known is not None:
                usable.append((name, field, how, known, "x-derived" in param))
        for name, field, how, known, derived in usable:
            self._filter_walk(op, path, query, size, [(name, field, how)], known, derived)
        if len(usable) >= 2 and _scalar(_field(usable[0][3], usable[1][1])):
            first, second = usable[:2]
            self._filter_walk(op, path, query, size, [first[:3], second[:3]], first[3], first[4] or second[4])

    def _filter_walk(self, op: Op, path: dict[str, Any], query: dict[str, Any], size: int,
                     filters: list[tuple[str, str, str]], known: dict[str, Any], derived: bool) -> None:
        asked = {name: _value(how, known, field) for name, field, how in filters}
        found = self.walk(op, path, {**query, **asked, **self._size(op, size)}, limit=size)
        case = self.judge.case(op, path, {**query, **asked})
        if found is None:
            self.judge.verify(op, "filters", False, f"{asked}: not a 200", case, derived)
            return
        wrong = [identity(i) for i in found
                 if not all(MATCHERS[how](_field(i, field), asked[name]) for name, field, how in filters)]
        self.judge.verify(op, "filters", not wrong, f"{asked}: items that do not match: {wrong[:5]}", case, derived)
        self.judge.verify(op, "filters", identity(known) in {identity(i) for i in found},
                          f"{asked}: the matching item {identity(known)} is not returned", case, derived)


def _equality_field(op: Op, name: str) -> bool:
    item = ((op.body_schema() or {}).get("properties", {}).get(op.items_key[0], {}).get("items") or {})
    return name in item.get("properties", {})


def _field(item: Any, field: str) -> Any:
    """An item's field; a dotted name reaches into objects (``attributes.name``)."""
    return dig(item, tuple(field.split(".")))


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and value != ""


def _value(how: str, item: dict[str, Any], field: str) -> Any:
    """The filter value that ``item`` matches: its own value, or a piece of it in other case."""
    value = _field(item, field)
    if how == "icontains" and isinstance(value, str) and len(value) > 4:
        return value[1:5].swapcase()
    return value


def _when(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


MATCHERS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda got, asked: str(got).lower() == str(asked).lower() if isinstance(got, bool) else got == asked,
    "one_of": lambda got, asked: str(got) in str(asked).split(","),
    "icontains": lambda got, asked: isinstance(got, str) and str(asked).lower() in got.lower(),
    "gte": lambda got, asked: got is not None and _when(got) >= _when(asked),
    "lte": lambda got, asked: got is not None and _when(got) <= _when(asked),
}
