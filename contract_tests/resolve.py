"""Values for an operation's required parameters, found the way a client would find them.

In order: a value given on the command line (``--org``, ``--corporation``, ``--param``); the
spec's links (call the operation a link starts from, read the value from its body or its
own request); the first item of the list one path segment up (``/customers`` for
``/customers/{id}/users``); the parameter's documented example.
"""
from __future__ import annotations

import re
from typing import Any

from .judge import Judge
from .spec import ApiSpec, Op, dig

MAX_DEPTH = 3


class Resolver:
    def __init__(self, judge: Judge, known: dict[str, Any]) -> None:
        self.judge = judge
        self.spec: ApiSpec = judge.spec
        self.known = dict(known)
        self._args: dict[str, tuple[dict[str, Any], dict[str, Any]] | None] = {}

    def args(self, op: Op, depth: int = 0) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(path, query) filling every required parameter of ``op``, or None if one is unknown."""
        if op.id in self._args:
            return self._args[op.id]
        if depth > MAX_DEPTH:
            return None
        path: dict[str, Any] = {}
        query: dict[str, Any] = {}
        for param in op.required_params:
            value = self._value(op, param, depth)
            if value is None:
                self._args[op.id] = None
                return None
            (path if param["in"] == "path" else query)[param["name"]] = value
        self._args[op.id] = (path, query)
        return path, query

    def _value(self, op: Op, param: dict[str, Any], depth: int) -> Any:
        name = param["name"]
        if name in self.known:
            return self.known[name]
        for value in (self._from_links(op, name, depth), self._from_parent_list(op, param, depth)):
            if value is not None:
                return value
        return param.get("example", param.get("schema", {}).get("example"))

    def _from_links(self, op: Op, name: str, depth: int) -> Any:
        for source in self.spec.ops.values():
            if source.method != "get" or source.id == op.id:
                continue
            for code, response in source.node.get("responses", {}).items():
                for link in (response.get("links") or {}).values():
                    expression = (link.get("parameters") or {}).get(name) if link.get("operationId") == op.id else None
                    if isinstance(expression, str):
                        value = self._evaluate(source, expression, depth)
                        if value is not None:
                            return value
        return None

    def _evaluate(self, source: Op, expression: str, depth: int) -> Any:
        args = self.args(source, depth + 1)
        if args is None:
            return None
        match = re.fullmatch(r"\$request\.(path|query)\.(.+)", expression)
        if match:
            return args[0 if match[1] == "path" else 1].get(match[2])
        if not expression.startswith("$response.body#/"):
            return None
        _, response = self.judge.request(source, *args)
        if response.status_code != 200:
            return None
        return dig(_json(response), tuple(expression.split("#/", 1)[1].split("/")))

    def _from_parent_list(self, op: Op, param: dict[str, Any], depth: int) -> Any:
        if param["in"] != "path":
            return None
        head, marker, _ = op.path.partition("/{" + param["name"] + "}")
        parent = self.spec.op_at(head, "get") if marker else None
        if parent is None or not parent.items_key or parent.id == op.id:
            return None
        args = self.args(parent, depth + 1)
        if args is None:
            return None
        _, response = self.judge.request(parent, *args)
        items = dig(_json(response), parent.items_key) if response.status_code == 200 else None
        return items[0].get("id") if items and isinstance(items[0], dict) else None


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
