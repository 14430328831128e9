"""Send a case, run the checks on its response, and judge each failure by the document.

A failure is *contract* when the document itself says it; it is a *sandbox decision* when it
disappears once the spec's ``x-derived`` rules are dropped (``document_view``): the same case
is rebuilt on the document's schema and the same response checked again. For
``negative_data_rejection`` the question is whether the document forbids the request at
all; a request only our rules reject may rightly be accepted by another implementation.
"""
from __future__ import annotations

from typing import Any, Callable

import jsonschema_rs
import schemathesis
from schemathesis.checks import FailureGroup, not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi import checks as st_checks

from . import checks as kit_checks
from .http import Client
from .report import CONTRACT, DECISION, Finding, Report
from .spec import ApiSpec, Op

# The schemathesis checks every response gets, and the ones only generated cases get.
RESPONSE_CHECKS = [
    not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
    kit_checks.error_body_conformance,
]
GENERATED_CHECKS = [st_checks.negative_data_rejection]


def check_name(check: Callable) -> str:
    return getattr(check, "__name__", type(check).__name__)


class Judge:
    """One API's two schemathesis schemas (strict and document), the client, and the report."""

    def __init__(self, spec: ApiSpec, base_url: str, headers: dict[str, str], client: Client,
                 report: Report, tag: str) -> None:
        self.spec = spec
        self.client = client
        self.report = report
        self.tag = tag
        self.base_url = base_url
        self.headers = headers
        self.strict = schemathesis.openapi.from_dict(spec.raw)
        self.doc = schemathesis.openapi.from_dict(spec.doc_raw)
        for schema in (self.strict, self.doc):
            schema.config.update(base_url=base_url)
            schema.config.output.sanitization.enabled = True

    def operation(self, op_id: str, doc: bool = False):
        return (self.doc if doc else self.strict).find_operation_by_id(op_id)

    def case(self, op: Op, path: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
             body: Any = NOT_SET, headers: dict[str, str] | None = None):
        media = (op.request_media or "application/json") if body is not NOT_SET else None
        return self.operation(op.id).Case(path_parameters=path or {}, query=query or {}, body=body,
                                          headers=headers, media_type=media)

    def headers_for(self, headers: dict[str, str | None] | None = None) -> dict[str, str]:
        """The run's credentials with ``headers`` on top; a ``None`` value removes a header."""
        merged = {**self.headers, **(headers or {})}
        return {k: v for k, v in merged.items() if v is not None}

    def send(self, case, headers: dict[str, str] | None = None):
        return case.call(session=self.client, headers=headers if headers is not None else self.headers_for())

    def request(self, op: Op, path: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
                body: Any = NOT_SET, headers: dict[str, str] | None = None):
        """Send a request the kit builds itself and run the response checks on it."""
        sent = self.headers_for(headers)
        case = self.case(op, path, query, body)
        response = self.send(case, sent)
        self.judge(case, response, RESPONSE_CHECKS, sent)
        return case, response

    def judge(self, case, response, checks: list[Callable], headers: dict[str, str] | None = None) -> bool:
        clean = True
        headers = headers or self.headers
        for check in checks:
            name = check_name(check)
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except FailureGroup as group:
                failures = [f for f in group.exceptions if not _only_unknown_parameters(f)]
                if not failures:
                    self.report.ok(case.operation.label, name)
                    continue
                clean = False
                verdict = DECISION if self._document_allows(case, response, check, headers) else CONTRACT
                for failure in failures:
                    self.report.add(Finding(case.operation.label, name, verdict,
                                            f"{failure.title}: {failure.message}".strip(),
                                            self.curl(case, headers)))
            else:
                self.report.ok(case.operation.label, name)
        return clean

    def finding(self, op: Op, check: str, message: str, case=None, derived: bool = False) -> None:
        self.report.add(Finding(op.label, check, DECISION if derived else CONTRACT, message,
                                self.curl(case) if case is not None else ""))

    def verify(self, op: Op, check: str, ok: bool, message: str, case=None, derived: bool = False) -> bool:
        """Record one multi-request check's outcome (a finding when ``ok`` is false)."""
        if ok:
            self.report.ok(op.label, check)
        else:
            self.finding(op, check, message, case, derived)
        return ok

    def curl(self, case, headers: dict[str, str] | None = None) -> str:
        try:
            return case.as_curl_command(headers=headers)
        except Exception:  # a case with unprintable data still gets reported, without the line
            return ""

    # -- the document's view ---------------------------------------------------------------------

    def _document_allows(self, case, response, check: Callable, headers) -> bool:
        if self.spec.ops[case.operation.definition.raw["operationId"]].ours:
            return True  # the document has no such operation: whatever it does is our decision
        if check in GENERATED_CHECKS:
            return request_valid(self.spec.ops[case.operation.definition.raw["operationId"]], case)
        doc_case = self.operation(case.operation.definition.raw["operationId"], doc=True).Case(
            path_parameters=case.path_parameters, query=case.query, body=case.body,
            headers=case.headers, media_type=case.media_type)
        try:
            doc_case.validate_response(response, checks=[check], headers=headers)
        except FailureGroup:
            return False
        return True


def _only_unknown_parameters(failure: Any) -> bool:
    """A negative case whose only fault is an undeclared query parameter or header: no document
    here says those are refused, and servers commonly ignore them, so accepting one is no finding."""
    message = str(getattr(failure, "message", ""))
    if "Invalid component:" not in message:
        return False
    listed = [line.strip() for line in message.split("Invalid component:", 1)[1].splitlines() if line.strip()]
    # (a missing Authorization header is no fault of the case: the kit always sends its credentials)
    return bool(listed) and all(line.startswith(("- query: violates `additionalProperties`",
                                                 "- header: violates `additionalProperties`",
                                                 "- header: violates `required` (was Authorization)"))
                                for line in listed) and "additionalProperties" in message


def request_valid(op: Op, case) -> bool:
    """Whether the document (``x-derived`` rules dropped) accepts the case's request."""
    sent = {"path": case.path_parameters or {}, "query": case.query or {},
            "header": case.headers or {}}
    for param in op.doc_node.get("parameters", []):
        values = sent.get(param["in"], {})
        if param["name"] not in values:
            if param.get("required"):
                return False
            continue
        value = values[param["name"]]
        schema = param.get("schema", {})
        if isinstance(value, str) and schema.get("type") in ("integer", "number", "boolean"):
            value = _coerce(value)
        if not _valid(schema, value):
            return False
    body = op.doc_node.get("requestBody")
    if body:
        if case.body is NOT_SET:
            return not body.get("required")
        media = body.get("content", {}).get(case.media_type or "application/json")
        if media is None or not _valid(media.get("schema", {}), case.body):
            return False
    return True


def _coerce(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _valid(schema: dict[str, Any], value: Any) -> bool:
    try:
        return jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value)
    except (ValueError, TypeError):
        return True
