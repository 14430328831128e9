"""What an API folder declares, and what its handlers receive and return."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from .errors import ApiError, Detail
from .pagination import Page
from .spec import Operation, Spec, SpecError, load_spec
from .store import Collection, Workspace
from .validation import ValidRequest, compile_schema, schema_details

if TYPE_CHECKING:
    from flask import Request

    from .workspaces import Registry

Handler = Callable[["Context"], Any]
# An operation-level error shape (``x-sandbox: {errors: <name>}``): a typed error -> (status, body).
ErrorShape = Callable[[ApiError], "tuple[int, dict[str, Any]]"]


@dataclass
class Reply:
    """A handler's answer when 200 with the body alone is not enough."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def start_ids(collection: Collection, *, parent: Any = None, first: str | None = None,
              keep: Callable[[dict[str, Any]], bool] = lambda r: True, limit: int = 5) -> list[str]:
    """Ids a partner can start from: ``first`` (a documented example) if it is there, then
    others in order; reads only as far as it must (a lookup and the start of a scan)."""
    head = collection.get(first) if first is not None else None
    ids = [first] if head is not None and keep(head) and (
        parent is None or head.get(collection.parent_field) == parent) else []
    others = (r["id"] for r in collection.values(parent) if r["id"] != first and keep(r))
    return ids + list(islice(others, limit - len(ids)))


@dataclass
class ApiDefinition:
    """One API: its spec, its handlers and the shapes it answers in.

    ``render_error`` turns a typed error into the API's documented error body;
    ``envelope`` turns a Page into the API's list body; ``fixtures`` builds the seeded
    records (``build(fake, rng, scale, today) -> {collection: [records]}``);
    ``summarize`` tells a partner what a workspace holds for this API; ``error_shapes``
    are the other error shapes an operation may name with ``x-sandbox: {errors: <name>}``
    (an OAuth2 token route answers in RFC 6749's shape, not the API's).
    ``single`` turns one record a handler returns into the API's body (default: the record
    without its internal keys). ``media_type`` is the Content-Type of every answer;
    ``admin_only`` refuses a workspace's non-admin token (403); ``closed_query`` makes an
    undeclared query parameter a 400 (JSON:API requires it).
    """

    name: str
    handlers: ModuleType
    render_error: Callable[[ApiError], dict[str, Any]]
    envelope: Callable[[Page, "Context"], dict[str, Any]] | None = None
    fixtures: Callable[..., dict[str, list[dict[str, Any]]]] | None = None
    summarize: Callable[[Workspace], dict[str, Any]] | None = None
    error_shapes: dict[str, ErrorShape] = field(default_factory=dict)
    single: Callable[[Any, "Context"], Any] | None = None
    media_type: str = "application/json"
    admin_only: bool = False
    closed_query: bool = False
    prefix: str = ""
    controls: bool = True  # Prefer, latency, rate limits and the journal (engine.controls) apply
    spec: Spec = field(init=False, repr=False)
    # whether a body may hold internal keys (leading ``_``) to drop: a collection's schema names
    # one (every stored record obeys its schema, which allows no other keys), or the API has
    # no collections (its handlers build what they return)
    internal_keys: bool = field(init=False, repr=False, default=True)
    _handlers: dict[str, Handler] = field(init=False, repr=False, default_factory=dict)
    _record_validators: dict[str, Any] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.prefix = self.prefix or f"/{self.name}"

    def load(self) -> "ApiDefinition":
        """Load the spec and bind every operation to its handler; fail loudly on a gap."""
        self.spec = load_spec(self.name)
        for op in self.spec.operations.values():
            name = op.sandbox["handler"]
            handler = getattr(self.handlers, name, None)
            if not callable(handler):
                raise SpecError(f"{self.name}: {op.operation_id} names handler {name!r}, "
                                f"which {self.handlers.__name__} does not define")
            self._handlers[op.operation_id] = handler
            shape = op.sandbox.get("errors")
            if shape is not None and shape not in self.error_shapes:
                raise SpecError(f"{self.name}: {op.operation_id} names error shape {shape!r}, "
                                f"which the API does not define (it has: {sorted(self.error_shapes)})")
        if self.fixtures is not None and not self.spec.collections:
            raise SpecError(f"{self.name}: has fixtures but declares no x-sandbox collections")
        for name, config in self.spec.collections.items():
            required = self.spec.collection_schema(name).get("required", [])
            missing = [f for f in config.get("order", ["created_at"]) if f not in required]
            if missing:
                raise SpecError(f"{self.name}: collection {name} is ordered by {missing}, which its schema does not require")
        schemas = [self.spec.collection_schema(c) for c in self.spec.collections]
        self._record_validators = {c: compile_schema(schema) for c, schema in zip(self.spec.collections, schemas)}
        self.internal_keys = not schemas or any(
            schema.get("additionalProperties", True) is not False or any(k.startswith("_") for k in schema["properties"])
            for schema in schemas)
        return self

    def record_problems(self, collection: str, record: Any, where: str) -> list[Detail]:
        """How a stored record fails its collection's schema (unknown collection included)."""
        validator = self._record_validators.get(collection)
        if validator is None:
            known = ", ".join(sorted(self._record_validators)) or "none"
            return [Detail(where, f"{self.name} has no collection {collection!r} (it has: {known})")]
        return schema_details(validator, record, where)

    def handler(self, op: Operation) -> Handler:
        return self._handlers[op.operation_id]

    def error_shape(self, op: Operation) -> ErrorShape | None:
        """The operation's own error shape, or None for the API's."""
        name = op.sandbox.get("errors")
        return None if name is None else self.error_shapes[name]

    def new_collections(self) -> dict[str, Collection]:
        return {
            name: Collection(name, tuple(cfg.get("order", ["created_at"])), cfg.get("parent", {}).get("field"))
            for name, cfg in self.spec.collections.items()
        }


@dataclass
class Context:
    """Everything a handler may use for one request."""

    api: ApiDefinition
    op: Operation
    request: ValidRequest
    workspace: Workspace | None
    registry: "Registry"
    http: "Request"

    @property
    def query(self) -> dict[str, Any]:
        return self.request.query

    @property
    def path(self) -> dict[str, Any]:
        return self.request.path

    @property
    def body(self) -> Any:
        return self.request.body

    def collection(self, name: str) -> Collection:
        assert self.workspace is not None, "operation without a workspace reads no collection"
        return self.workspace.collection(self.api.name, name)
