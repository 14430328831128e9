"""Load an OpenAPI document once, check it, and index its operations by operationId."""
from __future__ import annotations

import copy
import re
from importlib import resources
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .datacache import checked_before, remember_checked



def spec_dir() -> Path:
    """Where the specs are: ``openapi/`` of a checkout (an editable install maps the package
    ``sandbox.openapi`` onto it), or the package data of an installed wheel."""
    return Path(str(resources.files("sandbox.openapi")))


SPEC_DIR = spec_dir()
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader: the same data, ~10x faster
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecError(Exception):
    """The spec is missing something the sandbox needs: a start-up failure, never a default."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    schema: dict[str, Any]
    example: Any = None  # the parameter's own ``example``, if the spec gives one

    @property
    def default(self) -> Any:
        return self.schema.get("default")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_required: bool
    body_media: dict[str, dict[str, Any]]  # media type -> resolved schema
    responses: dict[str, Any]
    security: tuple[dict[str, list[str]], ...]
    sandbox: dict[str, Any]

    @property
    def flask_rule(self) -> str:
        return re.sub(r"\{([^}]+)\}", r"<\1>", self.path)

    @property
    def anonymous(self) -> bool:
        """True when the operation may be called without credentials."""
        return not self.security or {} in self.security


@dataclass
class Spec:
    name: str
    path: Path
    raw: dict[str, Any]
    resolved: dict[str, Any] = field(repr=False)
    operations: dict[str, Operation]

    @property
    def collections(self) -> dict[str, dict[str, Any]]:
        return self.resolved.get("x-sandbox", {}).get("collections", {})

    def schema(self, name: str) -> dict[str, Any]:
        try:
            return self.resolved["components"]["schemas"][name]
        except KeyError:
            raise SpecError(f"{self.name}: no components.schemas.{name}") from None

    def collection_schema(self, collection: str) -> dict[str, Any]:
        """The JSON schema a stored record obeys: the public schema plus declared internal keys,
        which every record must carry (handlers filter on them)."""
        config = self.collections.get(collection)
        if config is None:
            raise SpecError(f"{self.name}: collection {collection!r} is not declared in x-sandbox")
        schema = copy.deepcopy(self.schema(config["schema"]))
        internal = config.get("internal", {})
        schema.setdefault("properties", {}).update(internal)
        schema["required"] = [*schema.get("required", []), *(k for k in internal if k not in schema.get("required", []))]
        return schema

    @cached_property
    def openapi(self):
        """openapi-core's view of the spec: the reference validator (checks the spec on build)."""
        from openapi_core import OpenAPI

        return OpenAPI.from_dict(self.raw)


def resolve_refs(node: Any, root: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Inline every local ``$ref`` (the specs here are not recursive; a cycle is an error)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise SpecError(f"only local $refs are supported, got {ref}")
            if ref in seen:
                raise SpecError(f"recursive $ref {ref}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            merged = resolve_refs(target, root, seen + (ref,))
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(merged, dict):
                merged = {**merged, **resolve_refs(siblings, root, seen)}
            return merged
        return {k: resolve_refs(v, root, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_refs(v, root, seen) for v in node]
    return node


def _operations(name: str, resolved: dict[str, Any]) -> dict[str, Operation]:
    operations: dict[str, Operation] = {}
    default_security = tuple(resolved.get("security", []))
    for path, item in resolved.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            op_id = op.get("operationId")
            if not op_id:
                raise SpecError(f"{name}: {method.upper()} {path} has no operationId")
            if "x-sandbox" not in op or "handler" not in op["x-sandbox"]:
                raise SpecError(f"{name}: {op_id} has no x-sandbox.handler")
            by_key = {(p["name"], p["in"]): p for p in shared}
            by_key.update({(p["name"], p["in"]): p for p in op.get("parameters", [])})
            params = tuple(
                Parameter(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}), p.get("example"))
                for p in by_key.values()
            )
            body = op.get("requestBody", {})
            operations[op_id] = Operation(
                operation_id=op_id,
                method=method,
                path=path,
                parameters=params,
                body_required=bool(body.get("required")),
                body_media={m: c.get("schema", {}) for m, c in body.get("content", {}).items()},
                responses=op.get("responses", {}),
                security=tuple(op.get("security", default_security)),
                sandbox=op["x-sandbox"],
            )
    return operations


def load_spec(name: str, directory: Path = SPEC_DIR) -> Spec:
    """Read ``<name>.yaml`` from the specs, check it with openapi-core (once per spec text:
    a text that passed before is not checked again) and index its operations."""
    path = directory / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=_LOADER)
    resolved = resolve_refs(raw, raw)
    spec = Spec(name=name, path=path, raw=raw, resolved=resolved, operations=_operations(name, resolved))
    if not checked_before("openapi", text.encode()):
        spec.openapi  # noqa: B018 - build (and so check) the reference validator at start-up
        remember_checked("openapi", text.encode())
    for collection in spec.collections:
        spec.collection_schema(collection)
    return spec
