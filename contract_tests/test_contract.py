"""Every operation of every API, all built-in checks, positive and negative data, and
stateful runs through the spec's links. Runs in-process by default; see target.py."""
from __future__ import annotations

import hypothesis
import pytest
import schemathesis

from .conftest import SCHEMAS, TARGET


@schemathesis.pytest.parametrize(**SCHEMAS)
def test_operation(case):
    case.call_and_validate()


def _has_links(api: str) -> bool:
    paths = SCHEMAS[api].raw_schema.get("paths", {})
    return any(response.get("links") for item in paths.values() for op in item.values()
               if isinstance(op, dict) for response in op.get("responses", {}).values())


@pytest.mark.parametrize("api", sorted(a for a in SCHEMAS if _has_links(a)))
def test_stateful(api):
    machine = SCHEMAS[api].as_state_machine()
    machine.run(settings=hypothesis.settings(
        max_examples=TARGET.max_examples, stateful_step_count=8, deadline=None, derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    ))
