"""Request validation at the edge, with validators compiled once per operation at start-up.

openapi-core is the reference validator (tests cross-check the two on the same requests);
on the serving path it costs ~2.5 ms a request because it rebuilds its validators every
call, so each operation's parameter and body schemas are compiled once here with
jsonschema-rs (~10 µs a request).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl

import jsonschema_rs
from werkzeug.datastructures import MultiDict

from .errors import BadRequest, Detail, UnsupportedMediaType, ValidationFailed, summarize
from .spec import Operation, Parameter

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class ValidRequest:
    """What a handler receives: typed parameters (defaults applied) and the parsed body."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: Any


def compile_schema(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def schema_details(validator: jsonschema_rs.Validator, instance: Any, where: str) -> list[Detail]:
    """Every way ``instance`` fails its schema, each named by where it is (``body.email``)."""
    details = []
    for error in validator.iter_errors(instance):
        field = ".".join([where, *(str(p) for p in error.instance_path)])
        kind = error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            details.extend(Detail(f"{field}.{name}", "is not a known field") for name in kind.unexpected)
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            details.append(Detail(f"{field}.{kind.property}", "is required"))
        else:
            details.append(Detail(field, error.message))
    return details


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def coerce(raw: str, schema: dict[str, Any]) -> Any:
    """Turn a query/path string into the type its schema asks for; ValueError if it can't."""
    types = _types(schema)
    if "integer" in types and _INTEGER.match(raw):
        return int(raw)
    if "number" in types and _NUMBER.match(raw):
        return float(raw)
    if "boolean" in types and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if "string" in types or not types:
        return raw
    wanted = " or ".join(sorted(types - {"null"}))
    raise ValueError(f"{raw!r} is not a valid {wanted}")


class _ParamCheck:
    def __init__(self, param: Parameter, check: bool) -> None:
        self.param = param
        self.where = f"{param.location}.{param.name}"
        self.validator = compile_schema(param.schema) if check else None

    def __call__(self, values: list[str], out: dict[str, Any], problems: list[Detail]) -> None:
        param = self.param
        if not values:
            if param.required:
                problems.append(Detail(self.where, "is required"))
            elif param.default is not None:
                out[param.name] = param.default
            return
        if len(values) > 1:
            problems.append(Detail(self.where, "is given more than once"))
            return
        try:
            value = coerce(values[0], param.schema)
        except ValueError as exc:
            problems.append(Detail(self.where, str(exc)))
            return
        if self.validator is not None:
            found = schema_details(self.validator, value, self.where)
            if found:
                problems.extend(found)
                return
        out[param.name] = value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes, mimetype: str, declared: frozenset[str] = frozenset()) -> Any:
    """Decode a JSON or form body; BadRequest if it is not UTF-8 or not well-formed, or if a
    declared form field is repeated (an undeclared one is ignored beyond its first value)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            "The request body is not valid UTF-8.",
            [Detail("body", f"byte {exc.start} is not UTF-8")],
        ) from None
    if mimetype == FORM:
        pairs = parse_qsl(text, keep_blank_values=True)
        form: dict[str, str] = {}
        for key, value in pairs:
            if not key:
                continue  # "=value": no field at all (openapi-core drops it too)
            if key in form and key in declared:
                raise BadRequest(f"Form field {key!r} is given more than once.", [Detail(f"body.{key}", "is given more than once")])
            form.setdefault(key, value)
        return form
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise BadRequest("The request body is not well-formed JSON.", [Detail("body", str(exc))]) from None


class RequestValidator:
    """Parses and (if ``check``) validates one operation's requests; built once at start-up."""

    def __init__(self, op: Operation, check: bool = True, closed_query: bool = False) -> None:
        self.op = op
        self.check = check
        self.known_query = frozenset(p.name for p in op.parameters if p.location == "query") if closed_query else None
        self.params = [_ParamCheck(p, check) for p in op.parameters]
        self.bodies = {m: compile_schema(s) for m, s in op.body_media.items()} if check else {}
        self.declared = {m: frozenset(s.get("properties", {})) for m, s in op.body_media.items()}

    def __call__(self, path_args: dict[str, str], query: MultiDict, headers: Any,
                 mimetype: str, raw_body: Callable[[], bytes]) -> ValidRequest:
        problems: list[Detail] = []
        out: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
        for check in self.params:
            location = check.param.location
            if location == "path":
                values = [path_args[check.param.name]] if check.param.name in path_args else []
            elif location == "query":
                values = query.getlist(check.param.name)
            else:
                value = headers.get(check.param.name)
                values = [] if value is None else [value]
            check(values, out.setdefault(location, {}), problems)
        if self.check and self.known_query is not None:
            problems.extend(Detail(f"query.{name}", "is not a query parameter of this operation")
                            for name in query if name not in self.known_query)
        if problems:
            raise BadRequest(summarize(problems), problems)
        body = self._body(mimetype, raw_body) if self.op.body_media else None
        return ValidRequest(out["path"], out["query"], body)

    def _body(self, mimetype: str, raw_body: Callable[[], bytes]) -> Any:
        raw = raw_body()
        if not raw and not mimetype:
            if self.op.body_required:
                wanted = " or ".join(self.op.body_media)
                raise BadRequest(f"A request body ({wanted}) is required.", [Detail("body", "is required")])
            return None
        if mimetype not in self.op.body_media:
            wanted = " or ".join(self.op.body_media)
            raise UnsupportedMediaType(
                f"Send the body as {wanted}, not {mimetype or 'no Content-Type'}.",
                [Detail("header.Content-Type", f"must be {wanted}")],
            )
        body = parse_body(raw, mimetype, self.declared.get(mimetype, frozenset()))
        validator = self.bodies.get(mimetype)
        if validator is not None:
            problems = schema_details(validator, body, "body")
            if problems:
                raise ValidationFailed(summarize(problems), problems)
        return body


class ResponseValidator:
    """Checks responses against the spec (tests and ``--strict``); compiled once per operation."""

    def __init__(self, op: Operation) -> None:
        self.op = op
        self.validators: dict[str, jsonschema_rs.Validator] = {}
        for status, response in op.responses.items():
            content = response.get("content", {})
            schema = (content.get(JSON) or next(iter(content.values()), {})).get("schema")
            if schema is not None:
                self.validators[status] = compile_schema(schema)

    def problems(self, status: int, body: Any) -> list[Detail]:
        validator = self.validators.get(str(status)) or self.validators.get(f"{str(status)[0]}XX")
        if validator is None:
            if str(status) in self.op.responses:
                return []
            return [Detail("status", f"{status} is not documented for {self.op.operation_id}")]
        return schema_details(validator, body, "response")
