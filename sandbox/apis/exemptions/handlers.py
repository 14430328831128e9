"""GET /customers: every filter honoured (AND across parameters, OR within a list)."""
from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable

from ...engine.api import Context
from ...engine.errors import Detail, NotFound
from ...engine.pagination import Page, cursor_page

BASE_FIELDS = ("id", "name", "email", "corporation_id", "created_at")
FILTERS = ("name", "search_term", "source_platforms", "source_platform_ids", "certificate_types",
           "exemption_jurisdiction", "expiration_status", "exemption_status", "has_exemption")
Record = dict[str, Any]


def _split(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _certificate_test(query: dict[str, Any]) -> Callable[[Record], bool] | None:
    """A test one certificate must pass, or None when no certificate filter is given."""
    types = _split(query["certificate_types"]) if "certificate_types" in query else None
    wanted = {k: query[k] for k in ("exemption_jurisdiction", "expiration_status", "exemption_status") if k in query}
    if types is None and not wanted:
        return None
    field = {"exemption_jurisdiction": "jurisdiction", "expiration_status": "expiration_status",
             "exemption_status": "status"}
    return lambda cert: (types is None or cert["type"] in types) and all(
        cert[field[k]] == v for k, v in wanted.items())


def has_exemption(customer: Record) -> bool:
    """At least one active certificate that has not expired."""
    return any(c["status"] == "active" and c["expiration_status"] != "expired"
               for c in customer["exemption_metadata"]["certificates"])


def matcher(query: dict[str, Any]) -> Callable[[Record], bool] | None:
    """One predicate for the whole query: every given filter must hold (None: no filter given)."""
    tests: list[Callable[[Record], bool]] = []
    if "name" in query:
        tests.append(lambda c: c["name"] == query["name"])
    if "search_term" in query:
        term = query["search_term"].casefold()
        tests.append(lambda c: term in c["name"].casefold())
    if "source_platforms" in query:
        platforms = _split(query["source_platforms"])
        tests.append(lambda c: c["_source_platform"] in platforms)
    if "source_platform_ids" in query:
        platform_ids = _split(query["source_platform_ids"])
        tests.append(lambda c: c["_source_platform_id"] in platform_ids)
    certificate = _certificate_test(query)
    if certificate is not None:
        tests.append(lambda c: any(certificate(cert) for cert in c["exemption_metadata"]["certificates"]))
    if "has_exemption" in query:
        tests.append(lambda c: has_exemption(c) == query["has_exemption"])
    if not tests:
        return None
    return lambda customer: all(test(customer) for test in tests)


_base_values = itemgetter(*BASE_FIELDS)
BLOCKS = ("shipping_address", "exemption_metadata")


def _project(customer: Record, blocks: tuple[str, ...]) -> Record:
    """The five base fields, plus exactly the ``blocks`` asked for (in BLOCKS' order)."""
    shown = dict(zip(BASE_FIELDS, _base_values(customer)))
    for block in blocks:
        shown[block] = customer[block]
    return shown


def list_customers(ctx: Context) -> Page:
    query = ctx.query
    corporation_id = query["corporation_id"]
    if corporation_id not in ctx.collection("corporations"):
        raise NotFound(f"No corporation with id {corporation_id}.",
                       [Detail("query.corporation_id", "no such corporation")])
    page = cursor_page(ctx.collection("customers"), parent=corporation_id, match=matcher(query),
                       limit=query["limit"], after=query.get("cursor") or None, count_total=True,
                       bound={k: query.get(k) for k in FILTERS}, after_param="query.cursor")
    extend = _split(query.get("extend", ""))
    blocks = tuple(block for block in BLOCKS if block in extend)
    page.items = [_project(c, blocks) for c in page.items]
    page.public = True  # named fields only: no internal key to drop
    return page
