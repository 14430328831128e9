"""The document's word and ours: which rules of a spec are the sandbox's own decisions.

A spec says what its document says; every rule added where the document is silent carries
``x-derived`` on the node that holds it:

- ``x-derived: "<why>"`` (a string): every constraint keyword on that node is ours;
- ``x-derived: {<keyword>: "<why>", ...}`` (a mapping): only the named keywords are ours;
- on a response object, the string form marks the status code itself as ours.

The sandbox serves the strict spec. ``document_view`` gives the spec a real implementation
is judged by: the same spec with every derived constraint (and derived response) dropped.
"""
from __future__ import annotations

import copy
from typing import Any

# Keywords that narrow what is valid; the ones a spec may only carry if the document says so.
CONSTRAINTS = frozenset({
    "pattern", "format", "enum", "const", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems",
    "minProperties", "maxProperties", "required", "additionalProperties", "unevaluatedProperties",
})


def derived_keywords(node: dict[str, Any]) -> frozenset[str]:
    """The constraint keywords of ``node`` that its ``x-derived`` marks as ours."""
    mark = node.get("x-derived")
    if isinstance(mark, str):
        return CONSTRAINTS
    if isinstance(mark, dict):
        return frozenset(mark)
    return frozenset()


def _strip(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    ours = derived_keywords(node)
    out = {}
    for key, value in node.items():
        if key in ours and (key != "required" or isinstance(value, list)):
            continue  # a derived constraint (a parameter's ``required: true`` is not one: kept)
        if key == "responses" and isinstance(value, dict):
            value = {code: r for code, r in value.items()
                     if not (isinstance(r, dict) and isinstance(r.get("x-derived"), str))}
        out[key] = _strip(value)
    return out


def document_view(raw: dict[str, Any]) -> dict[str, Any]:
    """The spec as its document states it: every ``x-derived`` constraint and response dropped."""
    return _strip(copy.deepcopy(raw))
