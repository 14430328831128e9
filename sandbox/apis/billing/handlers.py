"""Billing lists: a customer's businesses (status filter) and addresses, newest first."""
from __future__ import annotations

from ...engine.api import Context
from ...engine.errors import Detail, NotFound
from ...engine.pagination import Page, offset_page


def _customer_id(ctx: Context) -> str:
    customer_id = ctx.path["customer_id"]
    if customer_id not in ctx.collection("customers"):
        raise NotFound(f"No customer with id {customer_id}.", [Detail("path.customer_id", "no such customer")])
    return customer_id


def _newest_first(ctx: Context, collection: str, customer_id: str):
    return ctx.collection(collection).values(parent=customer_id, reverse=True)


def list_businesses(ctx: Context) -> Page:
    customer_id = _customer_id(ctx)
    status = ctx.query.get("status")
    records = (b for b in _newest_first(ctx, "businesses", customer_id) if not status or b["status"] == status)
    return offset_page(records, limit=ctx.query["limit"], offset=ctx.query["offset"])


def list_addresses(ctx: Context) -> Page:
    customer_id = _customer_id(ctx)
    return offset_page(_newest_first(ctx, "addresses", customer_id),
                       limit=ctx.query["limit"], offset=ctx.query["offset"])
