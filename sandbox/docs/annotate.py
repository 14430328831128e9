"""A spec as the docs render it: pointed at one sandbox, with every ``x-derived`` rule said aloud.

The raw spec stays the single source; this makes a copy for a page. Relative server and
OAuth2 URLs become absolute (so "Try it" reaches the sandbox from a page served anywhere,
or opened from disk), and each node carrying ``x-derived`` gets the reason appended to its
own description, where Swagger UI shows it beside the parameter, schema, response or
security scheme. The API description opens with the full list of such decisions.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..engine.provenance import CONSTRAINTS

MARK = "Sandbox decision"
FLOW_URLS = ("tokenUrl", "authorizationUrl", "refreshUrl")


@dataclass(frozen=True)
class Rule:
    """One ``x-derived`` mark: where it sits, which keywords it covers, and why."""

    pointer: str          # JSON pointer of the node carrying the mark
    keywords: tuple[str, ...]
    why: str
    response: bool        # a response object: the status code itself is ours

    @property
    def where(self) -> str:
        """The pointer for a person: ``paths › /customers › get › parameters › 5``."""
        return " › ".join(p.replace("~1", "/").replace("~0", "~") for p in self.pointer.split("/")[1:])

    @property
    def text(self) -> str:
        if self.response:
            return f"**{MARK}**: this response (its status code) is not in the source document. {self.why}"
        named = f" on {', '.join(f'`{k}`' for k in self.keywords)}" if self.keywords else ""
        return f"**{MARK}**{named} (the source document is silent here): {self.why}"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _constraints(node: dict[str, Any]) -> tuple[str, ...]:
    """Constraint keywords on the node, or on its ``schema`` (a parameter or media type)."""
    found = [k for k in node if k in CONSTRAINTS and not (k == "required" and not isinstance(node[k], list))]
    inner = node.get("schema")
    if not found and isinstance(inner, dict):
        found = [k for k in inner if k in CONSTRAINTS]
    return tuple(found)


def _rules_of(node: dict[str, Any], pointer: str, in_responses: bool) -> list[Rule]:
    mark = node.get("x-derived")
    if isinstance(mark, str):
        return [Rule(pointer, () if in_responses else _constraints(node), mark, in_responses)]
    if isinstance(mark, dict):
        return [Rule(pointer, (str(k),), str(why), False) for k, why in mark.items()]
    return []


def derived_rules(raw: dict[str, Any]) -> list[Rule]:
    """Every ``x-derived`` mark of a spec, in document order (``x-sandbox`` internals left out)."""
    rules: list[Rule] = []

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            rules.extend(_rules_of(node, pointer, pointer.split("/")[-2:-1] == ["responses"]))
            for key, value in node.items():
                if key != "x-sandbox":
                    walk(value, f"{pointer}/{_escape(str(key))}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{pointer}/{index}")

    walk(raw, "")
    return rules


def _node(spec: dict[str, Any], pointer: str) -> dict[str, Any]:
    node: Any = spec
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _append(node: dict[str, Any], text: str) -> None:
    existing = str(node.get("description") or "").rstrip()
    node["description"] = f"{existing}\n\n{text}" if existing else text


def _absolute(url: str, root: str) -> str:
    return f"{root}{url}" if url.startswith("/") else url


def _parameters_into_operations(spec: dict[str, Any]) -> None:
    """Path-level parameters copied into each operation that does not override them.

    The same meaning in OpenAPI; Swagger UI 5.35 leaves out a path-level ``$ref`` parameter
    that two path items share on the second of them, so the pages carry them per operation.
    """
    from ..engine.spec import METHODS

    def key(parameter: dict[str, Any]) -> tuple[Any, Any]:
        ref = parameter.get("$ref")
        target = _node(spec, ref[1:]) if isinstance(ref, str) and ref.startswith("#/") else parameter
        return target.get("name"), target.get("in")

    for item in spec.get("paths", {}).values():
        shared = item.pop("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict) and shared:
                own = op.setdefault("parameters", [])
                overridden = {key(p) for p in own}
                own[:0] = [p for p in shared if key(p) not in overridden]


def for_docs(raw: dict[str, Any], root: str) -> dict[str, Any]:
    """A copy of ``raw`` for a docs page whose "Try it" calls go to the sandbox at ``root``."""
    spec = copy.deepcopy(raw)
    for server in spec.get("servers", []):
        if server.get("url", "").startswith("/"):
            server["url"] = _absolute(server["url"], root)
            server["description"] = f"This sandbox ({server.get('description', 'sandbox')})"
    for scheme in spec.get("components", {}).get("securitySchemes", {}).values():
        for flow in scheme.get("flows", {}).values():
            for key in FLOW_URLS:
                if isinstance(flow.get(key), str):
                    flow[key] = _absolute(flow[key], root)
    rules = derived_rules(raw)
    for rule in rules:
        _append(_node(spec, rule.pointer), rule.text)
    _parameters_into_operations(spec)
    if rules:
        listing = "\n".join(f"- `{rule.where}`: {rule.text}" for rule in rules)
        _append(spec.setdefault("info", {}), f"### {MARK}s ({len(rules)})\n\nWhere the source document is "
                                             "silent, these rules are the sandbox's own; each is also noted "
                                             f"beside its parameter, schema or response below.\n\n{listing}")
    return spec


def credentials_for(raw: dict[str, Any]) -> dict[str, list[str]]:
    """The spec's security schemes by how the page fills them: bearer/API key, HTTP basic, OAuth2."""
    kinds: dict[str, list[str]] = {"bearer": [], "basic": [], "oauth2": []}
    for name, scheme in raw.get("components", {}).get("securitySchemes", {}).items():
        kind = scheme.get("type")
        if kind == "apiKey" or kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            kinds["bearer"].append(name)
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            kinds["basic"].append(name)
        elif kind == "oauth2":
            kinds["oauth2"].append(name)
    return kinds


def token_urls(raw: dict[str, Any], root: str) -> list[str]:
    """The OAuth2 token URLs a spec declares, absolute (a relative one is on the sandbox at ``root``)."""
    schemes = raw.get("components", {}).get("securitySchemes", {}).values()
    return [_absolute(flow["tokenUrl"], root) for scheme in schemes
            for flow in scheme.get("flows", {}).values() if isinstance(flow.get("tokenUrl"), str)]
