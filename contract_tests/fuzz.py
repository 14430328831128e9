"""Schema-driven cases: positive and negative data for every operation, seeded.

Hypothesis draws the cases (``@hypothesis.seed``, no example database, no shrinking), so the
same seed sends the same requests and reaches the same verdict. Known values (``--org``,
``--corporation``, ``--param``) replace generated ones in positive cases, so those reach
real records; a positive create body's plain ``name`` becomes the kit's tag, so what the
kit creates is recognisable.
"""
from __future__ import annotations

from typing import Any, Callable

import hypothesis
from schemathesis import GenerationMode

from .judge import GENERATED_CHECKS, RESPONSE_CHECKS, Judge
from .spec import Op

SETTINGS = dict(database=None, deadline=None, derandomize=False,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])


def fuzz_operation(judge: Judge, op: Op, known: dict[str, Any], seed: int, max_examples: int,
                   on_response: Callable[[Op, Any, Any], None]) -> int:
    """Send ``max_examples`` positive and as many negative cases; return how many were sent."""
    operation = judge.operation(op.id)
    sent = 0
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        overrides = _known_parts(op, known) if mode is GenerationMode.POSITIVE else {}
        strategy = operation.as_strategy(generation_mode=mode, **overrides)

        @hypothesis.seed(seed)
        @hypothesis.settings(max_examples=max_examples, **SETTINGS)
        @hypothesis.given(strategy)
        def run(case) -> None:
            nonlocal sent
            if mode is GenerationMode.POSITIVE:
                tag_body(op, case, judge.tag)
            response = judge.send(case)
            sent += 1
            judge.judge(case, response, RESPONSE_CHECKS + GENERATED_CHECKS)
            on_response(op, case, response)

        run()
    return sent


def _known_parts(op: Op, known: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parts: dict[str, dict[str, Any]] = {}
    for name, param in op.params.items():
        if param.get("required") and name in known:
            location = {"path": "path_parameters", "query": "query"}.get(param["in"])
            if location:
                parts.setdefault(location, {})[name] = known[name]
    return parts


def tag_body(op: Op, case: Any, tag: str) -> None:
    schema = op.request_schema() or {}
    name = schema.get("properties", {}).get("name")
    if op.method == "post" and isinstance(case.body, dict) and _plain_string(name):
        case.body["name"] = tag


def _plain_string(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    return "string" in types and not {"pattern", "enum", "const", "format"} & schema.keys() \
        and schema.get("maxLength", 255) >= 40
