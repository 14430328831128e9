"""Commerce: businesses of an organization (filter, sort, page, write) and the reads that
include a business. Handlers return records and pages; ``jsonapi`` turns them into documents."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from fixtures.common import iso_ms, uuid4

from ...engine.api import Context, Reply
from ...engine.errors import BadRequest, Conflict, Detail, Forbidden, NotFound, ValidationFailed
from ...engine.pagination import Page, number_page
from .jsonapi import include_paths
from .records import new_business, save_business

Record = dict[str, Any]
SORTABLE: dict[str, Callable[[Record], Any]] = {
    "name": lambda b: (b["name"].casefold(), b["name"]),
    "created_at": lambda b: b["created_at"],
}
WRITABLE = ("name", "brand_name", "domain", "billing_email", "vat_id", "notes", "custom_entry_map")


def organization(ctx: Context) -> str:
    """The ``o`` parameter, if the workspace has that organization (else a 404 on ``o``)."""
    org = ctx.query["o"]
    if org not in ctx.collection("organizations"):
        raise NotFound(f"No organization {org} in this workspace.", [Detail("query.o", "no such organization")])
    return org


def _owned(ctx: Context, collection: str, record_id: str, org: str, what: str, where: str) -> Record:
    """A record of ``org``; another organization's is as absent as one that does not exist."""
    record = ctx.collection(collection).get(record_id)
    if record is None or record["organization_id"] != org:
        raise NotFound(f"No {what} {record_id} in organization {org}.", [Detail(where, f"no such {what}")])
    return record


def _page(ctx: Context, records: Iterator[Record]) -> Page:
    return number_page(records, number=ctx.query["page[number]"], size=ctx.query["page[size]"])


def _start(ctx: Context) -> str:
    """What every commerce handler checks first: the include paths, then the organization."""
    include_paths(ctx, ctx.op.sandbox["type"])
    return organization(ctx)


# -- businesses -------------------------------------------------------------------------

def _split(value: str | None) -> set[str] | None:
    return None if value is None else {part.strip() for part in value.split(",") if part.strip()}


def _sort_keys(raw: str | None) -> list[tuple[str, bool]]:
    """``-created_at,name`` -> [("created_at", True), ("name", False)]; unknown fields are a 400."""
    keys = []
    for part in (raw or "").split(","):
        if not part:
            continue
        field, descending = (part[1:], True) if part.startswith("-") else (part, False)
        if field not in SORTABLE:
            raise BadRequest(f"Cannot sort businesses by {field!r}.",
                             [Detail("query.sort", f"{field!r} is not a sort field (known: created_at, name)")])
        keys.append((field, descending))
    return keys


def _matches(query: dict[str, Any]) -> Callable[[Record], bool]:
    ids, excluded = _split(query.get("filter[ids]")), _split(query.get("filter[exclude_ids]"))
    name, search = query.get("filter[name]"), (query.get("filter[search]") or "").casefold()

    def match(business: Record) -> bool:
        if ids is not None and business["id"] not in ids:
            return False
        if excluded and business["id"] in excluded:
            return False
        if name is not None and business["name"] != name:
            return False
        return not search or any(search in (business[f] or "").casefold() for f in ("name", "domain", "vat_id"))

    return match


def list_businesses(ctx: Context) -> Page:
    org = _start(ctx)
    keys = _sort_keys(ctx.query.get("sort"))
    match = _matches(ctx.query)
    records: Any = (b for b in ctx.collection("businesses").values(parent=org) if match(b))
    if keys:
        records = sorted(records, key=lambda b: b["id"])
        for field, descending in reversed(keys):
            records.sort(key=SORTABLE[field], reverse=descending)
        records = iter(records)
    return _page(ctx, records)


def _resource_object(ctx: Context) -> Record:
    """The body's resource object, after the checks JSON:API puts before any write."""
    data = ctx.body["data"]
    if data["type"] != "businesses":
        raise Conflict(f"This endpoint takes businesses, not {data['type']!r}.",
                       [Detail("body.data.type", f"is {data['type']!r}; this endpoint takes 'businesses'")])
    return data


def _attributes(ctx: Context, org: str, attributes: Record) -> Record:
    """Writable attributes after the checks JSON Schema cannot make (custom field ids)."""
    entries = attributes.get("custom_entry_map")
    if entries:
        fields = ctx.collection("custom_fields")
        unknown = [k for k in entries if (fields.get(k) or {}).get("organization_id") != org]
        if unknown:
            raise ValidationFailed(
                f"custom_entry_map names fields the organization does not have: {', '.join(unknown)}.",
                [Detail(f"body.data.attributes.custom_entry_map.{k}", "is not a custom field of this organization")
                 for k in unknown])
    return {k: v for k, v in attributes.items() if k in WRITABLE}


def create_business(ctx: Context) -> Reply:
    org = _start(ctx)
    data = _resource_object(ctx)
    if "id" in data:
        raise Forbidden("Client-generated ids are not supported; leave data.id out.",
                        [Detail("body.data.id", "client-generated ids are not supported")])
    attributes = _attributes(ctx, org, data["attributes"])
    now = iso_ms(ctx.workspace.now())
    business = save_business(ctx.collection, new_business(org, uuid4(ctx.workspace.rng), now, **attributes), now)
    location = f"{ctx.api.prefix}/api/v1/businesses/{business['id']}?o={org}"
    return Reply(business, 201, {"Location": location})


def get_business(ctx: Context) -> Record:
    org = _start(ctx)
    return _owned(ctx, "businesses", ctx.path["uuid"], org, "business", "path.uuid")


def update_business(ctx: Context) -> Record:
    org = _start(ctx)
    business = dict(_owned(ctx, "businesses", ctx.path["uuid"], org, "business", "path.uuid"))
    data = _resource_object(ctx)
    if data["id"] != business["id"]:
        raise Conflict("data.id is not the id in the URL.",
                       [Detail("body.data.id", f"is {data['id']!r}; the URL names {business['id']!r}")])
    business.update(_attributes(ctx, org, data.get("attributes", {})))
    return save_business(ctx.collection, business, iso_ms(ctx.workspace.now()))


def delete_business(ctx: Context) -> Reply:
    """Delete the business and what belongs to it alone; its customers stay, unlinked."""
    org = _start(ctx)
    business = _owned(ctx, "businesses", ctx.path["uuid"], org, "business", "path.uuid")
    customers = ctx.collection("customers")
    now = iso_ms(ctx.workspace.now())
    for customer in [c for c in customers.values(parent=org) if c["business_id"] == business["id"]]:
        customers.put({**customer, "business_id": None, "updated_at": now})
    for balance in list(ctx.collection("customer_balances").values(parent=business["id"])):
        ctx.collection("customer_balances").delete(balance["id"])
    for collection, key in (("addresses", "billing_address_id"), ("images", "logo_image_id"),
                            ("payment_setups", "payment_setup_id")):
        if business[key] is not None:
            ctx.collection(collection).delete(business[key])
    ctx.collection("businesses").delete(business["id"])
    return Reply(None, 204)


# -- the reads that include a business --------------------------------------------------

def list_customers(ctx: Context) -> Page:
    return _page(ctx, ctx.collection("customers").values(parent=_start(ctx)))


def list_orders(ctx: Context) -> Page:
    return _page(ctx, ctx.collection("orders").values(parent=_start(ctx)))


def list_plan_subscriptions(ctx: Context) -> Page:
    return _page(ctx, ctx.collection("plan_subscriptions").values(parent=_start(ctx)))


def get_booking(ctx: Context) -> Record:
    org = _start(ctx)
    return _owned(ctx, "bookings", ctx.path["id"], org, "booking", "path.id")
