"""Schema-driven cases: positive and negative data for every operation, seeded.

Hypothesis draws the cases (``@hypothesis.seed``, no example database, no shrinking), so the
same seed sends the same requests and reaches the same verdict. Known values (``--org``,
``--corporation``, ``--param``) replace generated ones in positive cases, so those reach
real records; a positive write's ``name`` becomes the kit's tag, so what the kit creates
is recognisable.
"""
from __future__ import annotations

from typing import Any, Callable

import hypothesis
import hypothesis.errors
from schemathesis import GenerationMode

from .judge import GENERATED_CHECKS, RESPONSE_CHECKS, Judge
from .spec import Op
from .writes import plain, properties, retag

SETTINGS = dict(database=None, deadline=None, derandomize=False,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])


def fuzz_operation(judge: Judge, op: Op, known: dict[str, Any], seed: int, max_examples: int,
                   on_response: Callable[[Op, Any, Any], None]) -> int:
    """Send ``max_examples`` positive and as many negative cases; return how many were sent.
    Writes to a record (a path id) address no record of the target: ``writes`` and the stateful
    phase exercise the kit's own records."""
    operation = judge.operation(op.id)
    sent = 0
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        overrides = _known_parts(op, known) if mode is GenerationMode.POSITIVE else _absent_ids(op)
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

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # no request the schema refuses can be drawn here (every part is free-form): nothing to send
    return sent


# A write addressed to a record must never reach one the kit did not create: the spec's own
# examples (drawn in Hypothesis' explicit phase) may name real records of the target.
ABSENT_UUID = "00000000-0000-4000-8000-00000000c0de"


def _absent(param: dict[str, Any]) -> str:
    return ABSENT_UUID if (param.get("schema") or {}).get("format") == "uuid" else "contract-test-absent"


def _known_parts(op: Op, known: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parts: dict[str, dict[str, Any]] = {}
    if op.method != "get":
        for name, param in op.params.items():
            if param["in"] == "path":
                parts.setdefault("path_parameters", {})[name] = _absent(param)
    for name, param in op.params.items():
        if param.get("required") and name in known:
            location = {"path": "path_parameters", "query": "query"}.get(param["in"])
            if location:
                parts.setdefault(location, {})[name] = known[name]
    return parts


def _absent_ids(op: Op) -> dict[str, dict[str, Any]]:
    """Negative cases of a write keep an absent id too (the explicit phase draws spec examples)."""
    parts = _known_parts(op, {})
    return parts if op.method != "get" else {}


def tag_body(op: Op, case: Any, tag: str) -> None:
    """A positive write's ``name`` fields carry the kit's tag (what it creates or renames is its own)."""
    if op.method in ("post", "put", "patch") and isinstance(case.body, dict):
        schema = op.request_schema() or {}
        retag(schema, case.body, tag, None)
        if op.method == "post" and plain(properties(schema).get("name")):
            case.body.setdefault("name", tag)
