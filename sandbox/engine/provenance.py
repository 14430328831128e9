"""The document's word and ours: which rules of a spec its document states, which are ours.

A spec says what its document says. Every constraint keyword (``CONSTRAINTS``) and every
response status code carries a mark on the node that holds it, or on the parameter whose
``schema`` holds it:

- ``x-documented: "<what the document states>"`` (a string: every constraint keyword of the
  node is the document's) or ``x-documented: {<keyword>: "<quote>", ...}``;
- ``x-derived: "<why>"`` (a string: every constraint keyword of the node is ours; on a
  response object, the status code is ours; on an operation, the whole operation is ours) or
  ``x-derived: {<keyword>: "<why>", ...}``: only those keywords are ours. The pseudo-keyword
  ``"null"`` says that accepting ``null`` (``type: [string, "null"]``) is ours: the document
  types the field without it.

The sandbox serves the strict spec. ``document_view`` gives the spec a real implementation
is judged by: every derived constraint, response and operation dropped. ``unmarked`` lists
the constraints and status codes that carry neither mark, which the test suite keeps empty.
"""
from __future__ import annotations

import copy
from typing import Any, Iterator

# Keywords that narrow what is valid; the ones a spec may only carry if the document says so.
CONSTRAINTS = frozenset({
    "pattern", "format", "enum", "const", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems",
    "minProperties", "maxProperties", "required", "additionalProperties", "unevaluatedProperties",
})
NULL = "null"  # the pseudo-keyword of x-derived: accepting null is ours
# Values that are data or tooling, never rules a client must follow.
_NOT_RULES = frozenset({"example", "examples", "links", "x-sandbox", "info", "servers", "tags"})
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def _marked(node: dict[str, Any], mark: str) -> frozenset[str]:
    value = node.get(mark)
    if isinstance(value, str):
        return CONSTRAINTS
    if isinstance(value, dict):
        return frozenset(value)
    return frozenset()


def derived_keywords(node: dict[str, Any]) -> frozenset[str]:
    """The constraint keywords of ``node`` that its ``x-derived`` marks as ours."""
    return _marked(node, "x-derived")


def documented_keywords(node: dict[str, Any]) -> frozenset[str]:
    """The constraint keywords of ``node`` that its ``x-documented`` says the document states."""
    return _marked(node, "x-documented")


def _constrains(key: str, value: Any) -> bool:
    """Whether ``key: value`` narrows what is valid (``required: true`` on a parameter and
    ``additionalProperties: true`` do not)."""
    if key == "required":
        return isinstance(value, list) and bool(value)
    if key in ("additionalProperties", "unevaluatedProperties"):
        return value is not True and value != {}
    return key in CONSTRAINTS


def _is_parameter(node: dict[str, Any]) -> bool:
    return "in" in node and "name" in node and isinstance(node.get("schema"), dict)


def _with_marks(schema: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    """A parameter's marks apply to its schema too, joined with the schema's own."""
    merged = dict(schema)
    for mark in ("x-derived", "x-documented"):
        outer, inner = parameter.get(mark), schema.get(mark)
        if outer is None:
            continue
        if inner is None or isinstance(outer, str) or isinstance(inner, str):
            merged[mark] = outer if inner is None or isinstance(outer, str) else inner
        else:
            merged[mark] = {**outer, **inner}
    return merged


def _resolve(raw: dict[str, Any], node: Any) -> Any:
    """``node`` with a local ``$ref`` followed (one level: enough for responses)."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = raw
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target
    return node


def _derived_whole(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("x-derived"), str)


# -- the check ------------------------------------------------------------------------

def _walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{where}[{i}]")
        return
    if not isinstance(node, dict):
        return
    yield where, node
    for key, value in node.items():
        if key in _NOT_RULES or key.startswith("x-") or (key in _METHODS and _derived_whole(value)):
            continue  # data, tooling, or an operation that is ours as a whole
        if key == "schema" and isinstance(value, dict) and _is_parameter(node):
            value = _with_marks(value, node)
        yield from _walk(value, f"{where}/{key}")


def unmarked(raw: dict[str, Any]) -> list[str]:
    """Every constraint keyword and status code of ``raw`` that neither the document states
    (``x-documented``) nor the spec marks as its own (``x-derived``), as ``<where>: <keyword>``."""
    found = []
    for where, node in _walk(raw, "#"):
        covered = derived_keywords(node) | documented_keywords(node)
        found += [f"{where}: {key}" for key, value in node.items()
                  if _constrains(key, value) and key not in covered]
    for path, item in raw.get("paths", {}).items():
        for method, op in item.items():
            if method not in _METHODS or _derived_whole(op):
                continue
            for code, response in op.get("responses", {}).items():
                target = _resolve(raw, response)
                if code != "default" and not (_derived_whole(target) or "x-documented" in target):
                    found.append(f"#/paths/{path}/{method}/responses/{code}: status code")
    return found


# -- the document's view --------------------------------------------------------------

def _strip(node: Any, raw: dict[str, Any], dropped: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_strip(item, raw, dropped) for item in node]
    if not isinstance(node, dict):
        return node
    ours = derived_keywords(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ours and _constrains(key, value):
            continue
        if key == "type" and NULL in ours and isinstance(value, list):
            kept = [t for t in value if t != NULL]
            value = kept[0] if len(kept) == 1 else kept
        elif key == "schema" and isinstance(value, dict) and _is_parameter(node):
            value = _with_marks(value, node)
        elif key == "paths" and isinstance(value, dict):
            value = {path: {m: _documented_op(op, raw) if m in _METHODS else op for m, op in item.items()
                            if not (m in _METHODS and _derived_whole(op))}
                     for path, item in value.items()}
            value = {path: item for path, item in value.items() if set(item) & _METHODS}
        elif key == "links" and isinstance(value, dict):  # none may lead to an operation left out
            value = {name: link for name, link in value.items()
                     if not (isinstance(link, dict) and link.get("operationId") in dropped)}
        out[key] = value if key in _NOT_RULES else _strip(value, raw, dropped)
    return out


def _documented_op(op: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """An operation with the responses whose status code is ours left out."""
    responses = {code: r for code, r in op.get("responses", {}).items() if not _derived_whole(_resolve(raw, r))}
    return {**op, "responses": responses or {"default": {"description": "The document lists no response."}}}


def document_view(raw: dict[str, Any]) -> dict[str, Any]:
    """The spec as its document states it: every ``x-derived`` constraint, response and
    operation dropped, and ``null`` refused where only our decision accepted it."""
    dropped = frozenset(op.get("operationId") for item in raw.get("paths", {}).values()
                        for m, op in item.items() if m in _METHODS and _derived_whole(op))
    return _strip(copy.deepcopy(raw), raw, dropped)
