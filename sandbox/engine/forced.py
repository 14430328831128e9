"""Forced responses (``Prefer: code=N``, ``Prefer: example=NAME``), built from the spec at start-up.

For each status an operation documents, one body valid against that response's schema is
chosen once: for an error status the API's own error shape (``render_error``) with the
engine's code for that status, else a documented example, else the smallest instance the
schema allows. A status none of these fit is reported as not forceable, never answered
with a body that breaks the spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from .errors import ApiError, BadRequest, Detail
from .validation import compile_schema

if TYPE_CHECKING:
    from .api import ApiDefinition
    from .spec import Operation

_FORMATS = {"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "email": "user@example.com",
            "uuid": "00000000-0000-4000-8000-000000000000", "uri": "https://example.com/",
            "time": "00:00:00Z", "ipv4": "192.0.2.1", "hostname": "example.com"}


@dataclass(frozen=True)
class Canned:
    """One response the sandbox can answer without running the operation."""

    status: int
    body: Any
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


def _error_classes(cls: type[ApiError] = ApiError) -> Iterator[type[ApiError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _error_classes(sub)


def forced_error(status: int) -> ApiError:
    """The engine's typed error for ``status`` (the first defined), or a plain one."""
    message = f"Forced by the request's Prefer header (code={status})."
    for cls in _error_classes():
        if cls.status == status:
            return cls(message)
    error = ApiError(message)
    error.status = status
    return error


def smallest(schema: dict[str, Any]) -> Any:
    """The simplest instance ``schema`` plausibly allows (checked by the caller, not here)."""
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("examples"):
        return schema["examples"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            return smallest(schema[key][0])
    kinds = schema.get("type", "object" if "properties" in schema else "string")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    kind = "null" if "null" in kinds else kinds[0]
    if kind == "object":
        props = schema.get("properties", {})
        return {name: smallest(props.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [smallest(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return low if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), "x" * schema.get("minLength", 1))
    return None


def _header_value(name: str, header: dict[str, Any], api: "ApiDefinition") -> str:
    if "example" in header:
        return str(header["example"])
    lowered = name.lower()
    if lowered == "retry-after":
        return "1"
    if lowered == "www-authenticate":
        return f'Bearer realm="{api.name}"'
    if lowered == "location":
        return api.prefix
    return str(smallest(header.get("schema", {})))


def _examples(media: dict[str, Any]) -> Iterator[tuple[str | None, Any]]:
    for name, example in media.get("examples", {}).items():
        if isinstance(example, dict) and "value" in example:
            yield name, example["value"]
    if "example" in media:
        yield None, media["example"]


class ForcedResponses:
    """Every response of one operation the sandbox can force, by status and by example name."""

    def __init__(self, api: "ApiDefinition", op: "Operation") -> None:
        self.op = op
        self.by_code: dict[int, Canned] = {}
        self.by_example: dict[str, Canned] = {}
        self.unforceable: list[int] = []
        for status_text, response in sorted(op.responses.items()):
            if not status_text.isdigit():
                continue
            status = int(status_text)
            headers = {n: _header_value(n, h, api) for n, h in response.get("headers", {}).items()}
            content = response.get("content", {})
            if not content:
                self.by_code[status] = Canned(status, None, "application/json", headers)
                continue
            media_type, media = next(iter(content.items()))
            for name, value in _examples(media):
                if name is not None:
                    self.by_example.setdefault(name, Canned(status, value, media_type, headers))
            body = self._choose(api, status, media)
            if body is _NONE:
                self.unforceable.append(status)
            else:
                self.by_code[status] = Canned(status, body, media_type, headers)

    @staticmethod
    def _choose(api: "ApiDefinition", status: int, media: dict[str, Any]) -> Any:
        schema = media.get("schema")
        candidates = [api.render_error(forced_error(status))] if status >= 400 else []
        candidates += [value for _, value in _examples(media)]
        if schema is None:
            return candidates[0] if candidates else _NONE
        candidates.append(smallest(schema))
        validator = compile_schema(schema)
        return next((c for c in candidates if validator.is_valid(c)), _NONE)

    def for_code(self, code: int) -> Canned:
        canned = self.by_code.get(code)
        if canned is not None:
            return canned
        allowed = ", ".join(str(c) for c in sorted(self.by_code)) or "none"
        why = ("has no body the sandbox can build from its schema" if code in self.unforceable
               else "is not documented for this operation")
        raise BadRequest(f"Prefer: code={code} cannot be answered by {self.op.operation_id}: {code} {why}. "
                         f"Codes it can answer: {allowed}.",
                         [Detail("header.Prefer", f"code={code} {why}; allowed: {allowed}")])

    def for_example(self, name: str) -> Canned:
        canned = self.by_example.get(name)
        if canned is not None:
            return canned
        known = ", ".join(sorted(self.by_example)) or "none"
        raise BadRequest(f"Prefer: example={name} is not a named example of {self.op.operation_id}. "
                         f"Its named examples: {known}.",
                         [Detail("header.Prefer", f"example={name} is unknown; named examples: {known}")])


_NONE = object()
