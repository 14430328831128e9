"""Schemathesis's stateful phase: sequences that follow the spec's links (create -> read ->
update -> archive -> restore, next page -> previous page), every response judged like the rest.

It writes (so never runs with ``--read-only``), but only to records the kit created: a
sequence that would change another record is dropped before it is sent. A create's plain
``name`` carries the kit's tag, and what it creates is archived or deleted at the end.
"""
from __future__ import annotations

from typing import Any, Callable

import hypothesis

from .fuzz import SETTINGS, tag_body
from .judge import RESPONSE_CHECKS, Judge
from .spec import Op

STEPS = 6


def has_links(judge: Judge) -> bool:
    return any(response.get("links") for op in judge.spec.ops.values()
               for response in op.node.get("responses", {}).values())


def run_stateful(judge: Judge, max_examples: int, on_response: Callable[[Op, Any, Any], None],
                 mine: Callable[[], set[str]]) -> None:
    """``mine()``: the ids of the records the kit created so far."""
    ops = judge.spec.ops
    base = judge.strict.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            op = ops[case.operation.definition.raw["operationId"]]
            if op.method != "get":
                # a link may lead from a listed record to its update, archive or a new child:
                # only ever write to what the kit created itself
                hypothesis.assume({str(v) for v in (case.path_parameters or {}).values()} <= mine())
            tag_body(op, case, judge.tag)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"session": judge.client, "headers": judge.headers_for()}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            judge.judge(case, response, RESPONSE_CHECKS, kwargs.get("headers"))
            on_response(ops[case.operation.definition.raw["operationId"]], case, response)

    Machine.run(settings=hypothesis.settings(
        max_examples=max_examples, stateful_step_count=STEPS,
        **{**SETTINGS, "derandomize": True}))
