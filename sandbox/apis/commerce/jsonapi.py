"""JSON:API 1.1 documents for the commerce API: resource objects, linkage, compound documents,
page links and error objects.

Stored records are flat (``id``, attributes, and ``*_id`` keys for to-one links); each
resource type says which keys are attributes and how each relationship is found. A
``Graph`` answers those lookups for one request, within one organization, building the
reverse indexes (a business's customers) once.

Building resource objects is most of a commerce read, so what does not depend on the
request is worked out once: the attributes are read with one ``itemgetter`` per type, a
custom entry's id (a UUID 5 of business and field) is remembered, the organization's
query string is encoded once per request, and a page's links share one encoded query.
A business's customers (and its balances) come from an index of the shared seeded ones,
built once per organization and kept, while the workspace has not changed a customer (or a
balance; the usual read); a workspace that has gets an index of its own customers (or reads
each business's balances), per request. The to-one links of a page are looked up with one
``get_many`` per collection before its resource objects are built (``Graph.prefetch``): with
Redis one round trip each, not one per record.

A seeded record's resource object is kept too (``Graph.resources``), per organization, and
served again while the workspace has neither written nor hidden a record of any collection
its relationships read: it is then exactly what building it again would give.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable
from urllib.parse import quote_plus, urlencode
from weakref import WeakKeyDictionary

from werkzeug.http import HTTP_STATUS_CODES

from ...engine.api import Context
from ...engine.errors import ApiError, BadRequest, Detail
from ...engine.pagination import Page
from ...engine.store import Collection

Record = dict[str, Any]
VERSION = {"version": "1.1"}
_ENTRY_NAMESPACE = uuid.UUID("9a4b6f0e-3c1d-4e2a-8b7f-5d6c0e1f2a3b")
ByBusiness = dict[str, list[Record]]  # business id -> its customers (or balances), in the collection's order
# seeded collection (shared, never written) -> organization id -> index
_SEEDED_INDEXES: "WeakKeyDictionary[Collection, dict[str, ByBusiness]]" = WeakKeyDictionary()
# seeded collection -> (organization id, prefix) -> record id -> (the seeded record, its resource object)
_SEEDED_RESOURCES: "WeakKeyDictionary[Collection, dict[tuple[str, str], dict[str, tuple[Record, Record]]]]" = \
    WeakKeyDictionary()


def _by_business(records: Any) -> ByBusiness:
    index: ByBusiness = {}
    for record in records:
        if record["business_id"] is not None:
            index.setdefault(record["business_id"], []).append(record)
    return index


def _seeded_balances(seeded: dict[str, Collection], org: str) -> ByBusiness:
    """Every seeded business of ``org`` -> its seeded balances (an empty list for none)."""
    balances = seeded["customer_balances"]
    return {business["id"]: list(balances.values(parent=business["id"]))
            for business in seeded["businesses"].values(parent=org)}


class Graph:
    """Related records of one organization, looked up for one request. ``seeded``: the shared
    seeded collections under the workspace's own (``customers_of`` and ``balances_of`` may
    use indexes of them)."""

    def __init__(self, collection: Callable[[str], Collection], organization_id: str,
                 seeded: dict[str, Collection] | None = None) -> None:
        self.collection = collection
        self.organization_id = organization_id
        self.o_query = urlencode({"o": organization_id})  # the query of every self link
        self._seeded = seeded
        self._customers_by_business: ByBusiness | None = None
        self._balances_by_business: ByBusiness | None = None
        self._known: dict[str, dict[str, Record | None]] = {}  # collection -> id -> record (None: absent)
        self._untouched: dict[str, bool] = {}  # collection -> the workspace holds its seeded records as they are

    def get(self, collection: str, record_id: str | None) -> Record | None:
        if record_id is None:
            return None
        known = self._known.setdefault(collection, {})
        if record_id not in known:
            known[record_id] = self.collection(collection).get(record_id)
        return known[record_id]

    def prefetch(self, links: list[tuple["Relation", Record]]) -> None:
        """Look up the to-one targets of ``links`` (relation, record) with one ``get_many``
        per collection, so resolving them afterwards reads nothing more."""
        wanted: dict[str, set[str]] = {}
        for relation, record in links:
            if relation.source is not None:
                collection, key = relation.source
                target = record.get(key)
                if target is not None and target not in self._known.get(collection, {}):
                    wanted.setdefault(collection, set()).add(target)
        for collection, ids in wanted.items():
            found = self.collection(collection).get_many(sorted(ids))
            known = self._known.setdefault(collection, {})
            for record_id in ids:
                known[record_id] = found.get(record_id)

    def prefetch_for(self, kind: str, records: list[Record]) -> None:
        """``prefetch`` every to-one relationship of ``records`` of type ``kind``."""
        relations = TYPES[kind].relations.values()
        self.prefetch([(relation, record) for record in records for relation in relations])

    def customers_of(self, business: Record) -> list[Record]:
        if self._customers_by_business is None:
            org = self.organization_id
            self._customers_by_business = self._seeded_index(
                "customers", lambda seeded: _by_business(seeded["customers"].values(parent=org)))
            if self._customers_by_business is None:
                self._customers_by_business = _by_business(self.collection("customers").values(parent=org))
        return self._customers_by_business.get(business["id"], [])

    def balances_of(self, business: Record) -> list[Record]:
        if self._balances_by_business is None:
            self._balances_by_business = self._seeded_index(
                "customer_balances", lambda seeded: _seeded_balances(seeded, self.organization_id)) or {}
        known = self._balances_by_business.get(business["id"])
        if known is not None:
            return known
        return list(self.collection("customer_balances").values(parent=business["id"]))  # a business made here

    def untouched(self, name: str) -> bool:
        """Whether the workspace has neither written nor hidden any seeded record of ``name``."""
        if name not in self._untouched:
            own, seeded = self.collection(name), self._seeded
            self._untouched[name] = seeded is not None and own.written == 0 and len(own) == len(seeded[name])
        return self._untouched[name]

    def _seeded_index(self, name: str, build: Callable[[dict[str, Collection]], ByBusiness]) -> ByBusiness | None:
        """The organization's index of seeded ``name``, built once and kept, if the workspace
        has neither written nor hidden any of them (else None)."""
        if not self.untouched(name):
            return None
        seeded = self._seeded
        assert seeded is not None
        by_org = _SEEDED_INDEXES.setdefault(seeded[name], {})
        if self.organization_id not in by_org:
            by_org[self.organization_id] = build(seeded)
        return by_org[self.organization_id]

    def resources(self, kind: str, records: list[Record], prefix: str) -> list[Record]:
        """The resource objects of ``records`` of type ``kind``: a seeded record's kept one when
        nothing it links to has changed (see the module's docstring), the others built after
        one ``prefetch`` of their to-one links (and kept if they are seeded records)."""
        seeded = self._seeded_of(kind, records)
        kept = self._kept(kind, seeded, prefix) if seeded is not None else None
        if seeded is None or kept is None:
            self.prefetch_for(kind, records)
            return [resource(kind, record, self, prefix) for record in records]
        missing = [record for record in records if kept.get(record["id"], (None,))[0] is not record]
        built: dict[int, Record] = {}
        if missing:
            self.prefetch_for(kind, missing)
            for record in missing:
                built[id(record)] = made = resource(kind, record, self, prefix)
                if seeded.get(record["id"]) is record:
                    kept[record["id"]] = (record, made)
        return [built[id(record)] if id(record) in built else kept[record["id"]][1] for record in records]

    def _seeded_of(self, kind: str, records: list[Record]) -> Collection | None:
        """The seeded collection of ``kind`` if any of ``records`` is one of its records (so
        the workspace's collections are only asked whether they changed when it may pay).
        Only a collection whose records are objects shared in this process (``shares_records``:
        in memory, or Redis's seeded data read from the process's copy) can be told apart so;
        a record read from Redis is a new object every time."""
        name = TYPES[kind].collection
        if self._seeded is None or name is None or not self._seeded[name].shares_records:
            return None
        seeded = self._seeded[name]
        return seeded if any(seeded.get(record["id"]) is record for record in records) else None

    def _kept(self, kind: str, seeded: Collection, prefix: str) -> dict[str, tuple[Record, Record]] | None:
        """The kept resource objects of ``seeded`` records of type ``kind`` in this organization,
        if they may be served (the workspace changed nothing their relationships read), else None."""
        if not all(self.untouched(name) for name in sorted(TYPES[kind].reads)):
            return None
        return _SEEDED_RESOURCES.setdefault(seeded, {}).setdefault((self.organization_id, prefix), {})


@lru_cache(maxsize=65536)
def _entry_id(business_id: str, field_id: str) -> str:
    return str(uuid.uuid5(_ENTRY_NAMESPACE, f"{business_id}:{field_id}"))


def custom_entries(business: Record) -> list[Record]:
    """A business's ``custom_entry_map`` as entry records (ids derived from business and field)."""
    return [{"id": _entry_id(business["id"], field_id), "value": value, "field_id": field_id}
            for field_id, value in business["custom_entry_map"].items()]


@dataclass(frozen=True)
class Relation:
    type: str
    many: bool
    resolve: Callable[[Graph, Record], Any]  # -> a record, None, or a list of records
    source: tuple[str, str] | None = None     # a to-one link: (collection, key holding the id)
    reads: tuple[str, ...] = ()               # the collections ``resolve`` reads


def _to_one(kind: str, collection: str, key: str) -> Relation:
    return Relation(kind, False, lambda graph, record: graph.get(collection, record.get(key)), (collection, key),
                    (collection,))


@dataclass(frozen=True)
class ResourceType:
    attributes: tuple[str, ...]
    relations: dict[str, Relation]
    self_path: str | None = None  # e.g. "/api/v1/businesses/{id}": the resource has a self link
    collection: str | None = None  # where its records are stored (None: made from another record)
    values: Callable[[Record], tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    reads: frozenset[str] = field(init=False, repr=False, compare=False)  # what its relationships read

    def __post_init__(self) -> None:
        getter = itemgetter(*self.attributes)
        one = len(self.attributes) == 1  # itemgetter of one key gives the value, not a tuple
        object.__setattr__(self, "values", (lambda record: (getter(record),)) if one else getter)
        object.__setattr__(self, "reads", frozenset(c for r in self.relations.values() for c in r.reads))


_CUSTOMER = {"customer": _to_one("customers", "customers", "customer_id")}
TYPES: dict[str, ResourceType] = {
    "businesses": ResourceType(
        ("name", "brand_name", "domain", "billing_email", "vat_id", "notes", "custom_entry_map",
         "created_at", "updated_at"),
        {
            "billing_address": _to_one("addresses", "addresses", "billing_address_id"),
            "customers": Relation("customers", True, lambda g, r: g.customers_of(r), reads=("customers",)),
            "customer_balances": Relation("customer-balances", True, lambda g, r: g.balances_of(r),
                                          reads=("customer_balances",)),
            "logo_image": _to_one("images", "images", "logo_image_id"),
            "payment_setup": _to_one("payment-setups", "payment_setups", "payment_setup_id"),
            "custom_entries": Relation("custom-entries", True, lambda g, r: custom_entries(r)),
        },
        self_path="/api/v1/businesses/{id}",
        collection="businesses",
    ),
    "customers": ResourceType(
        ("first_name", "last_name", "email", "company_name", "created_at", "updated_at"),
        {"business": _to_one("businesses", "businesses", "business_id")}, collection="customers",
    ),
    "orders": ResourceType(("number", "status", "currency", "total_amount", "created_at"), _CUSTOMER,
                           collection="orders"),
    "plan-subscriptions": ResourceType(
        ("plan_name", "status", "billing_interval", "price_amount", "currency", "starts_at", "ends_at",
         "created_at"), _CUSTOMER, collection="plan_subscriptions"),
    "bookings": ResourceType(("title", "status", "starts_at", "ends_at", "created_at"), _CUSTOMER,
                             collection="bookings"),
    "addresses": ResourceType(("line1", "line2", "postal_code", "city", "region", "country_code"), {},
                              collection="addresses"),
    "images": ResourceType(("url", "content_type", "width", "height"), {}, collection="images"),
    "customer-balances": ResourceType(("currency", "balance_amount", "created_at"), {},
                                      collection="customer_balances"),
    "payment-setups": ResourceType(("method", "status", "mandate_reference", "created_at"), {},
                                   collection="payment_setups"),
    "custom-fields": ResourceType(("name", "field_type", "created_at"), {}, collection="custom_fields"),
    "custom-entries": ResourceType(
        ("value",), {"field": _to_one("custom-fields", "custom_fields", "field_id")}),
}


def _related(relation: Relation, graph: Graph, record: Record) -> list[Record]:
    found = relation.resolve(graph, record)
    if relation.many:
        return list(found)
    return [] if found is None else [found]


def resource(kind: str, record: Record, graph: Graph, prefix: str) -> Record:
    """The resource object of ``record``: attributes, every relationship with linkage, self link."""
    spec = TYPES[kind]
    out: Record = {"type": kind, "id": record["id"], "attributes": dict(zip(spec.attributes, spec.values(record)))}
    if spec.relations:
        relationships = {}
        for name, relation in spec.relations.items():
            found = relation.resolve(graph, record)
            if relation.many:
                data: Any = [{"type": relation.type, "id": r["id"]} for r in found]
            else:
                data = None if found is None else {"type": relation.type, "id": found["id"]}
            relationships[name] = {"data": data}
        out["relationships"] = relationships
    if spec.self_path:
        out["links"] = {"self": f"{prefix}{spec.self_path.format(id=record['id'])}?{graph.o_query}"}
    return out


def include_paths(ctx: Context, kind: str) -> list[tuple[str, ...]]:
    """The ``include`` parameter as relationship paths, each checked against the type graph."""
    raw = ctx.query.get("include")
    if raw is None:
        return []
    paths = []
    for text in raw.split(","):
        current = kind
        steps = tuple(text.split("."))
        for step in steps:
            relations = TYPES[current].relations
            if step not in relations:
                known = ", ".join(sorted(relations)) or "none"
                raise BadRequest(f"{text!r} is not an include path of {kind}.",
                                 [Detail("query.include", f"{text!r} is not an include path of {kind} "
                                                          f"({step!r} is not a relationship of {current}; known: {known})")])
            current = relations[step].type
        paths.append(steps)
    return paths


def compound(kind: str, records: list[Record], paths: list[tuple[str, ...]], graph: Graph, prefix: str) -> list[Record]:
    """``included``: every resource the paths reach, once, in the order first reached; never
    a resource of the primary data."""
    seen = {(kind, r["id"]) for r in records}
    out: list[Record] = []
    for path in paths:
        frontier = [(kind, r) for r in records]
        for step in path:
            graph.prefetch([(TYPES[current].relations[step], record) for current, record in frontier])
            reached: dict[tuple[str, str], tuple[str, Record]] = {}
            for current, record in frontier:
                relation = TYPES[current].relations[step]
                for target in _related(relation, graph, record):
                    key = (relation.type, target["id"])
                    reached.setdefault(key, (relation.type, target))
                    if key not in seen:
                        seen.add(key)
                        out.append(resource(relation.type, target, graph, prefix))
            frontier = list(reached.values())
    return out


def _graph(ctx: Context) -> Graph:
    """The request's graph, within its ``o``, over the workspace's seeded data set."""
    workspace = ctx.workspace
    assert workspace is not None, "commerce reads need a workspace"
    seeded = ctx.registry.dataset(workspace.seed, workspace.scale)[ctx.api.name]
    return Graph(ctx.collection, ctx.query["o"], seeded)


def single(record: Record, ctx: Context) -> Record:
    """A document whose primary data is one resource (the operation's ``x-sandbox.type``)."""
    kind = ctx.op.sandbox["type"]
    graph = _graph(ctx)
    body: Record = {"data": graph.resources(kind, [record], ctx.api.prefix)[0]}
    paths = include_paths(ctx, kind)
    if paths:
        body["included"] = compound(kind, [record], paths, graph, ctx.api.prefix)
    self_link = _url(ctx, list(ctx.http.args.items(multi=True))) if ctx.http.method == "GET" \
        else body["data"]["links"]["self"]
    body["links"] = {"self": self_link}
    body["jsonapi"] = VERSION
    return body


def _url(ctx: Context, pairs: list[tuple[str, str]]) -> str:
    """The request's path with ``pairs`` as its query, percent-encoded (``[`` and ``]`` too:
    RFC 3986 allows them only in a host), so every link is a valid URI reference."""
    return f"{ctx.http.path}?{urlencode(pairs, safe=',')}"


_PAGE_NUMBER, _PAGE_SIZE = quote_plus("page[number]"), quote_plus("page[size]")


def _page_urls(ctx: Context, size: int) -> Callable[[int], str]:
    """The URL of page ``number`` of this list: the request's query without its page
    parameters, then ``page[number]`` and ``page[size]`` (the other pairs encoded once)."""
    pairs = [(k, v) for k, v in ctx.http.args.items(multi=True) if k not in ("page[number]", "page[size]")]
    head = f"{ctx.http.path}?{urlencode(pairs, safe=',')}{'&' if pairs else ''}{_PAGE_NUMBER}="
    tail = f"&{_PAGE_SIZE}={size}"
    return lambda number: f"{head}{number}{tail}"


def envelope(page: Page, ctx: Context) -> Record:
    """A document whose primary data is a page of resources, with page links and totals."""
    kind = ctx.op.sandbox["type"]
    graph = _graph(ctx)
    body: Record = {"data": graph.resources(kind, page.items, ctx.api.prefix)}
    paths = include_paths(ctx, kind)
    if paths:
        body["included"] = compound(kind, page.items, paths, graph, ctx.api.prefix)
    number, size, last = page.number or 1, page.limit, page.last_number
    page_url = _page_urls(ctx, size)
    links = {"self": page_url(number), "first": page_url(1), "last": page_url(last)}
    if page.has_previous:
        links["prev"] = page_url(number - 1)
    if page.has_next:
        links["next"] = page_url(number + 1)
    body["links"] = links
    body["meta"] = {"page": {"number": number, "size": size, "total": page.total, "total_pages": last,
                             "next": number + 1 if page.has_next else None}}
    body["jsonapi"] = VERSION
    return body


def _source(field: str) -> dict[str, str] | None:
    """``query.sort`` -> parameter; ``body.data.type`` -> pointer; ``header.X`` -> header."""
    where, _, rest = field.partition(".")
    if where == "query" and rest:
        return {"parameter": rest}
    if where == "header" and rest:
        return {"header": rest}
    if where == "body":
        parts = rest.split(".") if rest else []
        return {"pointer": "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)}
    return None


def render_error(error: ApiError) -> Record:
    """A JSON:API error document: one error object per problem, each with its source."""
    base = {"status": str(error.status), "code": error.code,
            "title": HTTP_STATUS_CODES.get(error.status, "Error")}
    errors = []
    for detail in error.details:
        source = _source(detail.field)
        if source is not None:
            text = detail.message
        else:  # a path parameter: JSON:API has no source member for it
            text = error.message if len(error.details) == 1 else f"{detail.field}: {detail.message}"
        item = {**base, "detail": text}
        if source is not None:
            item["source"] = source
        if item not in errors:  # two schema branches may report one problem twice
            errors.append(item)
    return {"errors": errors or [{**base, "detail": error.message}], "jsonapi": VERSION}
