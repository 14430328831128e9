"""The sandbox's control API (``/_sandbox``) against its own spec: every operation, all
schemathesis checks, positive and negative data (the spec has no links: no stateful run).

In-process, as the caller of a throwaway workspace of a sandbox of its own: ``reset`` and
``fixtures`` only ever touch that workspace. (The contract-test CLI never calls these routes.)
"""
from __future__ import annotations

import schemathesis

from sandbox import create_app
from sandbox.settings import Settings

EXAMPLES = 25


def control_schema():
    """Built at collection (``schemathesis.pytest.from_fixture`` does not run on pytest 9)."""
    app = create_app(Settings(seed=42, strict=True))
    workspace = app.extensions["sandbox"]["registry"].create("contract-control")
    schema = schemathesis.openapi.from_wsgi("/_sandbox/specs/sandbox", app)
    schema.config.update(base_url="http://localhost/_sandbox",
                         headers={"Authorization": f"Bearer {workspace.token}"})
    schema.config.seed = 42
    schema.config.generation.update(max_examples=EXAMPLES)
    return schema


SCHEMA = control_schema()


@SCHEMA.parametrize()
def test_control_operation(case):
    case.call_and_validate()

