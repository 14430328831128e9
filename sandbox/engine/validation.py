"""Request validation at the edge, with validators compiled once per operation at start-up.

openapi-core is the reference validator (tests cross-check the two on the same requests);
on the serving path it costs ~2.5 ms a request because it rebuilds its validators every
call, so each operation's parameter and body schemas are compiled once here with
jsonschema-rs (~10 µs a request).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl

import jsonschema_rs
from werkzeug.datastructures import MultiDict

from .errors import (MAX_QUOTE, BadRequest, Detail, PayloadTooLarge, UnsupportedMediaType, UriTooLong, ValidationFailed, quote,
                     shorten, summarize)
from .spec import Operation, Parameter

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
MAX_BODY = 1024 * 1024            # bytes of a request body (a scenario file included)
MAX_QUERY = 64 * 1024              # bytes of a query string (the longest valid one, exemptions, is ~48 KB encoded)
MAX_DEPTH = 32                     # nesting of a JSON body (the deepest spec needs under 10)
MAX_DIGITS = 4300                  # Python's own limit on converting digits to an int
EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)      # a day inside Python's range at both ends,
LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc)   # so no offset or leap second overflows


@dataclass(frozen=True)
class ValidRequest:
    """What a handler receives: typed parameters (defaults applied) and the parsed body."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: Any


def check_size(content_length: int | None, query_string: bytes) -> None:
    """413 / 414 in the API's shape for a request over the documented limits, before any parsing."""
    if content_length is not None and content_length > MAX_BODY:
        raise PayloadTooLarge(f"The request body is {content_length} bytes; the limit is {MAX_BODY}.",
                              [Detail("body", f"is larger than {MAX_BODY} bytes")])
    if len(query_string) > MAX_QUERY:
        raise UriTooLong(f"The query string is {len(query_string)} bytes; the limit is {MAX_QUERY}.",
                         [Detail("query", f"is longer than {MAX_QUERY} bytes")])


def compile_schema(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def _message(error: Any) -> str:
    """The validator's message with the offending value cut to a bounded prefix."""
    message = error.message
    if len(message) <= 2 * MAX_QUOTE:
        return message
    shown = json.dumps(error.instance, ensure_ascii=False, separators=(",", ":"))
    if message.startswith(shown):
        return shorten(shown) + message[len(shown):]
    return shorten(message, 2 * MAX_QUOTE)


def schema_details(validator: jsonschema_rs.Validator, instance: Any, where: str) -> list[Detail]:
    """Every way ``instance`` fails its schema, each named by where it is (``body.email``)."""
    details = []
    try:
        for error in validator.iter_errors(instance):
            field = ".".join([where, *(str(p) for p in error.instance_path)])
            kind = error.kind
            if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
                details.extend(Detail(f"{field}.{shorten(name)}", "is not a known field") for name in kind.unexpected)
            elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
                details.append(Detail(f"{field}.{kind.property}", "is required"))
            else:
                details.append(Detail(field, _message(error)))
    except ValueError:  # jsonschema-rs: "Recursion limit reached"
        details.append(Detail(where, f"nests deeper than {MAX_DEPTH} levels"))
    return details


def parse_instant(value: str) -> datetime:
    """An RFC 3339 date-time as an aware datetime (a leap second is the next second);
    ValueError if it is not one or lies outside the dates the sandbox handles."""
    text = value.upper().replace("Z", "+00:00")
    leap = text[17:19] == "60"
    try:
        moment = datetime.fromisoformat(text[:17] + "59" + text[19:] if leap else text)
        if moment.tzinfo is None:
            raise ValueError("no time zone offset")
        moment = moment.astimezone(timezone.utc) + timedelta(seconds=leap)
    except OverflowError:
        moment = LATEST + timedelta(days=1)
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"is outside the dates the sandbox handles ({EARLIEST.date()} to {LATEST.date()})")
    return moment


def _format_problem(fmt: str, value: str) -> str | None:
    """Why a string the schema validator accepted as ``fmt`` still cannot be stored or compared."""
    try:
        if fmt == "date-time":
            parse_instant(value)
        elif fmt == "date":
            date.fromisoformat(value)
    except ValueError as exc:
        return str(exc) if str(exc).startswith("is outside") else f"{quote(value)} is not a {fmt} the sandbox can read"
    return None


def as_integers(schema: dict[str, Any], instance: Any) -> Any:
    """``instance`` with every integral float (``0.0``) turned into an int where ``schema`` says
    integer: JSON Schema counts ``0.0`` as an integer (so does openapi-core), and a request may
    send it; what is stored and served is then the integer."""
    if isinstance(instance, float) and instance.is_integer() and "integer" in _types(schema):
        return int(instance)
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        return {k: as_integers(properties[k], v) if k in properties else v for k, v in instance.items()}
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [as_integers(schema["items"], v) for v in instance]
    return instance


def value_details(schema: dict[str, Any], instance: Any, where: str) -> list[Detail]:
    """What a valid instance may still hold that the server could not serve, filter or page:
    dates outside the range it handles, and fractional-looking numbers (``1.0``) where the
    schema says integer. Run after the schema check passed."""
    details: list[Detail] = []
    if isinstance(instance, str) and "format" in schema:
        problem = _format_problem(schema["format"], instance)
        if problem:
            details.append(Detail(where, problem))
    elif isinstance(instance, float) and "integer" in _types(schema) and "number" not in _types(schema):
        details.append(Detail(where, f"{instance!r} must be written as an integer"))
    elif isinstance(instance, dict):
        properties = schema.get("properties", {})
        for key, value in instance.items():
            if key in properties:
                details.extend(value_details(properties[key], value, f"{where}.{key}"))
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(instance):
            details.extend(value_details(schema["items"], value, f"{where}.{i}"))
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
    raise ValueError(f"{quote(raw)} is not a valid {wanted}")


class _ParamCheck:
    """One parameter's check, compiled once; called with the values a request gave (at least one)."""

    def __init__(self, param: Parameter, check: bool) -> None:
        self.param = param
        self.name, self.location, self.required, self.default = param.name, param.location, param.required, param.default
        self.where = f"{param.location}.{param.name}"
        self.validator = compile_schema(param.schema) if check else None
        # value_details can only object to a string with a format or a number where an integer is asked
        self.values_checked = "format" in param.schema or "integer" in _types(param.schema)

    def __call__(self, values: list[str], out: dict[str, Any], problems: list[Detail]) -> None:
        if len(values) > 1:
            problems.append(Detail(self.where, "is given more than once"))
            return
        try:
            value = coerce(values[0], self.param.schema)
        except ValueError as exc:
            problems.append(Detail(self.where, str(exc)))
            return
        if self.validator is not None:
            if not self.validator.is_valid(value):  # the details are worked out only for a bad value
                problems.extend(schema_details(self.validator, value, self.where))
                return
            found = value_details(self.param.schema, value, self.where) if self.values_checked else None
            if found:
                problems.extend(found)
                return
        out[self.name] = value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {shorten(text)} is out of range")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_DIGITS:  # Python refuses to convert more digits; say so in our words
        raise ValueError(f"integer {shorten(text)} has more than {MAX_DIGITS} digits")
    return int(text)


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def unencodable(value: Any) -> bool:
    """True if a string in ``value`` (a key included) holds a lone surrogate: valid JSON text
    that no UTF-8 response could carry, so it must never be stored."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_json(text: str) -> Any:
    """JSON the sandbox can store and serve back: well-formed, finite numbers, at most
    MAX_DEPTH deep, every string encodable as UTF-8. BadRequest otherwise."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite, parse_int=_int)
    except RecursionError:
        value, problem = None, f"nests deeper than {MAX_DEPTH} levels"
    except ValueError as exc:
        value, problem = None, f"is not well-formed JSON ({shorten(str(exc), 2 * MAX_QUOTE)})"
    else:
        problem = None
        if _depth(value) > MAX_DEPTH:
            problem = f"nests deeper than {MAX_DEPTH} levels"
        elif unencodable(value):
            problem = "holds a lone surrogate (such as \\ud800), which is not a Unicode character"
    if problem is not None:
        raise BadRequest(f"The request body {problem}.", [Detail("body", problem)])
    return value


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
    return parse_json(text)


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
        out: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
        for check in self.params:  # in the spec's order, so problems are listed in it
            name, location = check.name, check.location
            if location == "query":
                values = query.getlist(name) if name in query else None
            elif location == "path":
                values = [path_args[name]] if name in path_args else None
            else:
                value = headers.get(name)
                values = None if value is None else [value]
            if values:
                check(values, out[location], problems)
            elif check.required:
                problems.append(Detail(check.where, "is required"))
            elif check.default is not None:
                out[location][name] = check.default
        if self.check and self.known_query is not None:
            problems.extend(Detail(f"query.{name}", "is not a query parameter of this operation")
                            for name in query if name not in self.known_query)
        if problems:
            raise BadRequest(summarize(problems), problems)
        body = self._body(mimetype, raw_body) if self.op.body_media else None
        return ValidRequest(out["path"], out["query"], body)

    def _body(self, mimetype: str, raw_body: Callable[[], bytes]) -> Any:
        raw = raw_body()
        if not raw:  # no body, whatever Content-Type a client sends along with nothing
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
            if not problems:
                body = as_integers(self.op.body_media[mimetype], body)
                problems = value_details(self.op.body_media[mimetype], body, "body")
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
