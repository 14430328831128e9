"""The kit's own per-response schemathesis check (the multi-request checks are in probes/)."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

import jsonschema_rs
import schemathesis
from schemathesis.core.failures import Failure

from sandbox.engine.spec import resolve_refs


class WrongErrorBody(Failure):
    code = "ST951"
    kind_title = "4xx body is not the API's error shape"


_VALIDATORS: dict[int, Any] = {}


def _error_validator(raw: dict[str, Any]):
    """The schema most of the spec's 4xx responses share: the API's error body (once per spec)."""
    if id(raw) not in _VALIDATORS:  # the spec is kept with it, so its id is never reused
        _VALIDATORS[id(raw)] = (raw, _build_error_validator(raw))
    return _VALIDATORS[id(raw)][1]


def _build_error_validator(raw: dict[str, Any]):
    resolved = resolve_refs(raw, raw)
    schemas: Counter = Counter()
    for item in resolved.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for code, response in op.get("responses", {}).items():
                if str(code).startswith("4"):
                    for media in response.get("content", {}).values():
                        if "schema" in media:
                            schemas[json.dumps(media["schema"], sort_keys=True)] += 1
    if not schemas:
        return None
    return jsonschema_rs.validator_for(json.loads(schemas.most_common(1)[0][0]))


@schemathesis.check
def error_body_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx body has the API's error shape, even on a status the operation does not list
    (a documented status is already covered by ``response_schema_conformance``)."""
    if not 400 <= response.status_code < 500 or str(response.status_code) in case.operation.responses.status_codes:
        return None
    validator = _error_validator(case.operation.schema.raw_schema)
    if validator is None:
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    errors = [e.message for e in validator.iter_errors(body)] if body is not None else ["not JSON"]
    if errors:
        raise WrongErrorBody(operation=case.operation.label,
                             message=f"{response.status_code} body: {'; '.join(errors[:3])}")
    return None
