"""What the kit reads from a spec: operations, list pages, writes, filters, and which rules are ours.

Everything here is derived from the OpenAPI document ``--api`` names, so a new spec needs no
code: list operations are the GETs whose 200 body holds one array of objects; their page
size is ``limit`` or ``page[size]``; cursors are the response links that call the same
operation again with a value from the body; item reads, creates, updates, archives and
restores are recognised by method and path shape.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

from sandbox.engine.provenance import document_view
from sandbox.engine.spec import SPEC_DIR, resolve_refs

PAGE_SIZE_PARAMS = ("limit", "page[size]")
OFFSET_PARAMS = ("offset", "page[offset]")
# The parameters the CLI's own flags fill (`--org`, `--corporation`); `--param` fills any other.
FLAG_PARAMS = {"org": "o", "corporation": "corporation_id"}


def available_apis() -> list[str]:
    """Every API with a spec, the sandbox's own control API left out."""
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml") if p.stem != "sandbox")


def load_raw(api: str) -> dict[str, Any]:
    return yaml.safe_load((SPEC_DIR / f"{api}.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Cursor:
    """A link that calls a list again with a value from its body: ``param`` <- ``pointer``."""

    param: str
    pointer: tuple[str, ...]
    backwards: bool


@dataclass
class Op:
    """One operation, resolved, with what the kit needs to know about it."""

    id: str
    method: str
    path: str
    node: dict[str, Any]
    doc_node: dict[str, Any]
    ours: bool = False  # the whole operation is the sandbox's (``x-derived``): not in the document

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.node.get("parameters", [])}

    @property
    def required_params(self) -> list[dict[str, Any]]:
        return [p for p in self.node.get("parameters", []) if p.get("required")]

    def success(self) -> tuple[str, dict[str, Any]] | None:
        """The one documented 2xx (status, response object), if there is exactly one."""
        codes = [(c, r) for c, r in self.node.get("responses", {}).items() if str(c).startswith("2")]
        return codes[0] if len(codes) == 1 else None

    def body_schema(self, status: str = "200", doc: bool = False) -> dict[str, Any] | None:
        response = (self.doc_node if doc else self.node).get("responses", {}).get(status) or {}
        return (response.get("content", {}).get("application/json")
                or next(iter(response.get("content", {}).values()), {})).get("schema")

    @property
    def request_media(self) -> str | None:
        """The request body's media type: ``application/json`` if offered, else the first."""
        content = self.node.get("requestBody", {}).get("content", {})
        return "application/json" if "application/json" in content else next(iter(content), None)

    def request_example(self) -> Any:
        """The request body the spec shows (media ``example``, first of ``examples``, schema example)."""
        media = self.node.get("requestBody", {}).get("content", {}).get(self.request_media or "", {})
        if "example" in media:
            return media["example"]
        for example in (media.get("examples") or {}).values():
            if isinstance(example, dict) and "value" in example:
                return example["value"]
        return (media.get("schema") or {}).get("example")

    def request_schema(self) -> dict[str, Any] | None:
        media = self.request_media
        return self.node["requestBody"]["content"][media].get("schema") if media else None

    def documents(self, status: int) -> bool:
        codes = self.node.get("responses", {})
        return str(status) in codes or f"{str(status)[0]}XX" in codes

    @property
    def secured(self) -> bool:
        return bool(self.node.get("security", [])) and {} not in self.node["security"]

    # -- lists ---------------------------------------------------------------------------------

    @cached_property
    def items_key(self) -> tuple[str, ...] | None:
        """Where the page's items are: ``("data",)``, ``("customers",)``; None if not a list."""
        if self.method != "get":
            return None
        schema = self.body_schema() or {}
        arrays = [k for k, s in schema.get("properties", {}).items()
                  if isinstance(s, dict) and s.get("type") == "array"
                  and (s.get("items") or {}).get("type") == "object"]
        return (arrays[0],) if len(arrays) == 1 else None

    @property
    def page_size(self) -> str | None:
        return next((n for n in PAGE_SIZE_PARAMS if n in self.params), None)

    @property
    def offset(self) -> str | None:
        return next((n for n in OFFSET_PARAMS if n in self.params), None)

    def size_bounds(self, doc: bool) -> tuple[int | None, int | None]:
        """(default, maximum) of the page size, as the strict spec or the document states it."""
        if not self.page_size:
            return None, None
        node = (self.doc_node if doc else self.node)
        param = next(p for p in node.get("parameters", []) if p["name"] == self.page_size)
        schema = param.get("schema", {})
        return schema.get("default"), schema.get("maximum")

    @cached_property
    def cursors(self) -> list[Cursor]:
        found = []
        for name, link in ((self.node.get("responses", {}).get("200") or {}).get("links") or {}).items():
            if link.get("operationId") != self.id:
                continue
            for param, expression in link.get("parameters", {}).items():
                if isinstance(expression, str) and expression.startswith("$response.body#/"):
                    pointer = tuple(expression.split("#/", 1)[1].split("/"))
                    found.append(Cursor(param, pointer, backwards="prev" in name.lower() or param == "before"))
        return found

    @cached_property
    def total_key(self) -> tuple[str, ...] | None:
        """A count of every matching item the body carries (``total_customers``, ``meta.page.total``)."""
        for pointer in ((), ("meta",), ("meta", "page")):
            node = self.body_schema() or {}
            for part in pointer:
                node = node.get("properties", {}).get(part, {})
            for name, schema in node.get("properties", {}).items():
                if name.startswith("total") and "page" not in name and schema.get("type") == "integer":
                    return (*pointer, name)
        return None

    @property
    def total_derived(self) -> bool:
        """Whether the count is the sandbox's own (``x-derived`` on it or on a node above it)."""
        node = self.body_schema() or {}
        for part in self.total_key or ():
            if "x-derived" in node:
                return True
            node = node.get("properties", {}).get(part, {})
        return "x-derived" in node


@dataclass
class ApiSpec:
    """One API's spec twice over: as the sandbox serves it, and as its document states it."""

    name: str
    raw: dict[str, Any]
    doc_raw: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.resolved = resolve_refs(self.raw, self.raw)
        # the document's view of the inlined spec: a derived shared response (``$ref``'d from
        # components) is dropped where it is used, and no ``$ref`` is left dangling
        self.doc_raw = document_view(self.resolved)
        self.doc_resolved = self.doc_raw

    @classmethod
    def load(cls, api: str) -> "ApiSpec":
        return cls(api, load_raw(api))

    @cached_property
    def ops(self) -> dict[str, Op]:
        found: dict[str, Op] = {}
        for path, item in self.resolved.get("paths", {}).items():
            doc_item = self.doc_resolved["paths"].get(path, {})
            shared = item.get("parameters", [])
            for method, node in item.items():
                if not isinstance(node, dict) or "operationId" not in node:
                    continue
                node = {**node, "parameters": _merge(shared, node.get("parameters", []))}
                node.setdefault("security", self.resolved.get("security", []))
                if method not in doc_item:  # an operation of ours: judged by the strict spec, as a decision
                    found[node["operationId"]] = Op(node["operationId"], method, path, node, node, ours=True)
                    continue
                doc = {**doc_item[method], "parameters": _merge(doc_item.get("parameters", []),
                                                                doc_item[method].get("parameters", []))}
                found[node["operationId"]] = Op(node["operationId"], method, path, node, doc)
        return found

    @property
    def server_path(self) -> str:
        """The path the API is mounted at, from the first relative server URL (``/payments``)."""
        for server in self.raw.get("servers", []):
            url = server.get("url", "")
            if url.startswith("/"):
                return url.rstrip("/")
        return f"/{self.name}"

    def token_url(self) -> str | None:
        for scheme in self.raw.get("components", {}).get("securitySchemes", {}).values():
            flow = scheme.get("flows", {}).get("clientCredentials")
            if flow:
                return flow.get("tokenUrl")
        return None

    def item_op(self, collection_path: str, method: str = "get") -> Op | None:
        """``GET /things/{id}`` for ``/things`` (one path parameter more)."""
        pattern = re.compile(re.escape(collection_path) + r"/\{[^}/]+\}$")
        return next((o for o in self.ops.values() if o.method == method and pattern.match(o.path)), None)

    def op_at(self, path: str, method: str) -> Op | None:
        return next((o for o in self.ops.values() if o.method == method and o.path == path), None)

    @property
    def lists(self) -> list[Op]:
        return [o for o in self.ops.values() if o.items_key]


def _merge(shared: list[dict[str, Any]], own: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key = {(p["name"], p["in"]): p for p in shared}
    by_key.update({(p["name"], p["in"]): p for p in own})
    return list(by_key.values())


def dig(body: Any, pointer: tuple[str, ...]) -> Any:
    for part in pointer:
        if isinstance(body, dict):
            body = body.get(part)
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return None
    return body
