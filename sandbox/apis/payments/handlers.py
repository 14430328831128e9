"""Payments behaviour beyond storage: tokens, archive/restore rules, filters, nesting."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from fixtures.common import iso_ms, uuid4

from ...engine.api import Context, Reply
from ...engine.errors import (BadRequest, Conflict, Detail, InvalidClient, NotFound,
                              UnsupportedGrantType)
from ...engine.pagination import Page, cursor_page
from ...engine.validation import parse_instant

CUSTOMER_FIELDS = ("name", "legal_name", "email", "ein", "external_id", "street_address",
                   "sub_premise", "city", "state", "postal_code", "country")


# -- authentication -------------------------------------------------------------------

def issue_token(ctx: Context) -> Reply:
    """Client-credentials grant; credentials in the form or as HTTP Basic, not both."""
    form = ctx.body
    if form.get("grant_type") != "client_credentials":
        raise UnsupportedGrantType("Only grant_type=client_credentials is supported.",
                                   [Detail("body.grant_type", "must be client_credentials")])
    basic = ctx.http.authorization if ctx.http.authorization and ctx.http.authorization.type == "basic" else None
    in_form = "client_id" in form or "client_secret" in form
    if basic and in_form:
        raise BadRequest("Send client credentials either in the form or as HTTP Basic, not both.",
                         [Detail("body.client_id", "given together with an Authorization header")])
    client_id = basic.username if basic else form.get("client_id")
    secret = basic.password if basic else form.get("client_secret")
    issued = ctx.registry.issue_token(client_id or "", secret or "") if client_id and secret else None
    if issued is None:
        raise InvalidClient("Unknown client or wrong secret.",
                            [Detail("body.client_id", "unknown client, or wrong client_secret")],
                            {"WWW-Authenticate": 'Basic realm="payments"'})
    token, lifetime = issued
    return Reply({"access_token": token, "token_type": "Bearer", "expires_in": lifetime},
                 headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


# -- customers ------------------------------------------------------------------------

def _customer(ctx: Context, *, active: bool = False) -> dict[str, Any]:
    customer = ctx.collection("customers").get(ctx.path["id"])
    if customer is None:
        raise NotFound(f"No customer with id {ctx.path['id']}.", [Detail("path.id", "no such customer")])
    if active and customer["status"] == "archived":
        raise Conflict(f"Customer {customer['id']} is archived; restore it first.",
                       [Detail("path.id", "customer is archived")])
    return customer


def _instant(value: str) -> datetime:
    """An RFC 3339 date-time, a leap second included; ValueError past the dates the sandbox handles."""
    return parse_instant(value)


def _bound(query: dict[str, Any], name: str) -> tuple[datetime, datetime] | None:
    """The instants a ``created_at_*`` bound spans: a date-time is one instant, a full-date
    (``2024-01-01``) the whole day, so both bounds include it."""
    value = query.get(name)
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = datetime.combine(date.fromisoformat(value), datetime.min.time(), timezone.utc)
            return day, day + timedelta(days=1, microseconds=-1)
        instant = _instant(value)
    except ValueError as exc:  # the form is checked by validation; the range only here
        why = str(exc) if str(exc).startswith("is outside") else "is not an RFC 3339 date-time or full-date"
        raise BadRequest(f"{name} {why}.", [Detail(f"query.{name}", why)]) from None
    return instant, instant


def list_customers(ctx: Context) -> Page:
    query = ctx.query
    start, end = _bound(query, "created_at_start"), _bound(query, "created_at_end")
    name = query.get("company_name", "").casefold()

    def match(customer: dict[str, Any]) -> bool:
        if customer["status"] != "active":
            return False
        if start or end:
            created = _instant(customer["created_at"])
            if (start and created < start[0]) or (end and created > end[1]):
                return False
        return not name or name in (customer["name"] or "").casefold()

    bound = {k: query.get(k) for k in ("created_at_start", "created_at_end", "company_name")}
    return cursor_page(ctx.collection("customers"), match=match, limit=query["limit"],
                       after=query.get("after") or None, before=query.get("before") or None, bound=bound,
                       lower=_day_key(start[0], -1) if start else None,
                       upper=_day_key(end[1], +1) if end else None)


def _day_key(instant: datetime, days: int) -> tuple[str]:
    """A sort key just outside the day ``days`` away from ``instant``'s, for a range scan.

    The order compares ``created_at`` as text, and an imported record may write its instant
    with any UTC offset (up to a day either way), so the scan covers a day more on each side
    and ``match`` compares instants exactly."""
    day = (instant + timedelta(days=days)).date().isoformat()
    return (day,) if days < 0 else (day + "\uffff",)


def create_customer(ctx: Context) -> Reply:
    workspace = ctx.workspace
    now = iso_ms(workspace.now())
    customer = {"id": uuid4(workspace.rng)}
    customer.update({f: ctx.body.get(f) for f in CUSTOMER_FIELDS})
    customer.update(status="active", created_at=now, updated_at=now, archived_at=None)
    ctx.collection("customers").put(customer)
    return Reply(customer, 201, {"Location": f"{ctx.api.prefix}/customers/{customer['id']}"})


def get_customer(ctx: Context) -> dict[str, Any]:
    return _customer(ctx)


def patch_customer(ctx: Context) -> dict[str, Any]:
    customer = dict(_customer(ctx, active=True))
    if not ctx.body:
        return customer  # nothing to change
    customer.update(ctx.body)
    customer["updated_at"] = iso_ms(ctx.workspace.now())
    return ctx.collection("customers").put(customer)


def archive_customer(ctx: Context) -> dict[str, Any]:
    customer = dict(_customer(ctx))
    if customer["status"] == "archived":
        raise Conflict(f"Customer {customer['id']} is already archived.", [Detail("path.id", "already archived")])
    now = iso_ms(ctx.workspace.now())
    customer.update(status="archived", archived_at=now, updated_at=now)
    return ctx.collection("customers").put(customer)


def restore_customer(ctx: Context) -> dict[str, Any]:
    customer = dict(_customer(ctx))
    if customer["status"] != "archived":
        raise Conflict(f"Customer {customer['id']} is not archived.", [Detail("path.id", "not archived")])
    customer.update(status="active", archived_at=None, updated_at=iso_ms(ctx.workspace.now()))
    return ctx.collection("customers").put(customer)


# -- payment methods and users (nested under a customer) ----------------------------

def _nested_page(ctx: Context, collection: str) -> Page:
    customer = _customer(ctx)
    return cursor_page(ctx.collection(collection), parent=customer["id"], limit=ctx.query["limit"],
                       after=ctx.query.get("after") or None, before=ctx.query.get("before") or None)


def list_payment_methods(ctx: Context) -> Page:
    return _nested_page(ctx, "payment_methods")


def _owned(ctx: Context, collection: str, param: str, what: str) -> dict[str, Any]:
    """The record of ``collection`` named by path ``param`` if it belongs to the path's customer."""
    customer = _customer(ctx)
    record = ctx.collection(collection).get(ctx.path[param])
    if record is None or record["customer_id"] != customer["id"]:
        raise NotFound(f"Customer {customer['id']} has no {what} {ctx.path[param]}.",
                       [Detail(f"path.{param}", f"no such {what} for this customer")])
    return record


def get_payment_method(ctx: Context) -> dict[str, Any]:
    return _owned(ctx, "payment_methods", "payment_method_id", "payment method")


def list_users(ctx: Context) -> Page:
    return _nested_page(ctx, "users")


def create_user(ctx: Context) -> Reply:
    customer = _customer(ctx, active=True)
    now = iso_ms(ctx.workspace.now())
    user = {"id": uuid4(ctx.workspace.rng), "customer_id": customer["id"]}
    user.update({f: ctx.body.get(f) for f in ("email", "first_name", "last_name")})
    user.update(created_at=now, updated_at=now)
    ctx.collection("users").put(user)
    return Reply(user, 201, {"Location": f"{ctx.api.prefix}/customers/{customer['id']}/users/{user['id']}"})


def get_user(ctx: Context) -> dict[str, Any]:
    return _owned(ctx, "users", "user_id", "user")
