"""Hostile input against every operation of every API, driven by the specs.

Every operation the specs declare (a new spec and API folder are covered without touching
this file) gets the classes of input an attacker or a broken client sends: deep nesting,
oversized bodies and query strings, non-UTF-8 bytes, invalid JSON, NaN / Infinity / huge
numbers, NUL bytes, wrong and missing content types, repeated parameters, methods the spec
does not list, HEAD, percent-encoded traversal in path ids, lone surrogates and extreme
dates. Each must get a 4xx whose body is the API's documented error shape; a write that
fails must leave the workspace exactly as it was; the sandbox must answer normally after.
Slow clients and what the HTTP server itself refuses are checked against a live server.
"""
from __future__ import annotations

import json
import socket
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import hypothesis
import pytest
from hypothesis import strategies as st

from sandbox import create_app
from sandbox.apis import discover
from sandbox.engine.api import ApiDefinition
from sandbox.engine.errors import ApiError
from sandbox.engine.spec import METHODS, Operation
from sandbox.bridge import BODIES
from sandbox.server import MAX_HEADERS, READ_BUFFER
from sandbox.engine.validation import JSON, MAX_BODY, MAX_DEPTH, MAX_QUERY, ResponseValidator, compile_schema
from sandbox.settings import Settings

from .conftest import AUTH, LiveServer

APIS = discover()
HTTP_METHODS = sorted(m.upper() for m in METHODS if m not in ("head",))
TIMEOUT = 10  # seconds: a bound on any one answer, far above what a request takes


def _is_json(media: str) -> bool:
    return media == JSON or media.endswith("+json")


def _json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of a response's JSON body, whatever JSON media type it is declared under."""
    return next((c["schema"] for m, c in response.get("content", {}).items() if _is_json(m) and "schema" in c), None)


def _example(schema: dict[str, Any]) -> Any:
    """A value that passes ``schema`` (a path or query parameter): its example, enum, default,
    or the smallest string its pattern or format admits."""
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("format") == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    if schema.get("format") == "date-time":
        return "2024-01-01T00:00:00Z"
    kinds = schema.get("type", "string")
    if "integer" in kinds or "number" in kinds:
        return schema.get("minimum", 1)
    if "boolean" in kinds:
        return "true"
    if "pattern" in schema:
        return hypothesis.find(st.from_regex(schema["pattern"], fullmatch=True), lambda _: True,
                               settings=hypothesis.settings(database=None))
    return "x" * max(1, schema.get("minLength", 1))


@dataclass
class Target:
    """One operation, with a request that would pass validation, to be broken one way at a time."""

    api: ApiDefinition
    op: Operation
    path_values: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.api.name}:{self.op.operation_id}"

    @property
    def url(self) -> str:
        path = self.op.path
        for name, value in self.path_values.items():
            path = path.replace("{" + name + "}", str(value))
        return self.api.prefix + path

    def params(self, location: str):
        return [p for p in self.op.parameters if p.location == location]

    def statuses(self, statuses: tuple[int, ...]) -> tuple[int, ...]:
        """``statuses`` as this operation answers them: an operation with its own error shape
        (the OAuth2 token route: RFC 6749 errors are 400 or 401) maps each through it."""
        shape = self.api.error_shape(self.op)
        if shape is None:
            return statuses
        mapped = []
        for status in statuses:
            error = ApiError("hostile")
            error.status = status
            mapped.append(shape(error)[0])
        return tuple(mapped)

    @property
    def required_query(self) -> dict[str, Any]:
        """Valid values of the required query parameters (commerce's ``o``), so that a hostile
        body or header is what the server refuses, not a missing parameter."""
        return {p.name: p.example if p.example is not None else _example(p.schema)
                for p in self.params("query") if p.required}

    @property
    def json_media(self) -> str | None:
        """The operation's JSON body media type (``application/json``, ``application/vnd.api+json``...)."""
        return next((m for m in self.op.body_media if _is_json(m)), None)

    @property
    def json_body(self) -> bool:
        return self.json_media is not None

    def string_field(self) -> str:
        """A body property to put a bad string in (any name: the bad JSON is refused first)."""
        properties = self.op.body_media.get(self.json_media, {}).get("properties", {})
        return next(iter(properties), "name")

    def date_fields(self) -> list[str]:
        return [p.name for p in self.params("query") if p.schema.get("format") == "date-time"]


def _targets() -> list[Target]:
    found = []
    for api in APIS:
        for op in api.spec.operations.values():
            target = Target(api, op)
            target.path_values = {p.name: _example(p.schema) for p in target.params("path")}
            found.append(target)
    return found


TARGETS = _targets()


# -- what a hostile request is, and how an answer is judged -----------------------------

@dataclass
class Hostile:
    name: str
    applies: Callable[[Target], bool]
    request: Callable[[Target], dict[str, Any]]  # kwargs for the test client's open()
    statuses: tuple[int, ...] = (400,)


def _raw(body: bytes | str, content_type: str | None) -> dict[str, Any]:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    return {"data": body, "headers": headers}


def _json(target: Target, body: bytes | str) -> dict[str, Any]:
    return _raw(body, target.json_media)


def _query(target: Target, query: str) -> dict[str, Any]:
    return {"query_string": query, "headers": AUTH}


def _first_query(target: Target) -> Any:
    return target.params("query")[0]


def _repeat(target: Target) -> dict[str, Any]:
    param = _first_query(target)
    value = _example(param.schema)
    return _query(target, f"{param.name}={value}&{param.name}={value}")


def _typed_query(target: Target) -> Any:
    return next((p for p in target.params("query") if "string" not in p.schema.get("type", "string")
                 or "enum" in p.schema or "pattern" in p.schema), None)


HOSTILE = [
    Hostile("deep-nesting", lambda t: t.json_body, lambda t: _json(t, "[" * 300 + "]" * 300)),
    Hostile("nesting-past-limit", lambda t: t.json_body,
            lambda t: _json(t, json.dumps({"a": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}))),
    Hostile("oversized-body", lambda t: True, lambda t: _raw(json.dumps({"name": "x" * MAX_BODY}), JSON), (413,)),
    Hostile("oversized-query", lambda t: True, lambda t: _query(t, "q=" + "x" * MAX_QUERY), (414,)),
    Hostile("non-utf8-body", lambda t: bool(t.op.body_media),
            lambda t: _raw(b'{"name": "\xff\xfe"}', next(iter(t.op.body_media)))),
    Hostile("invalid-json", lambda t: t.json_body, lambda t: _json(t, '{"name": ')),
    Hostile("nan", lambda t: t.json_body, lambda t: _json(t, '{"name": NaN}')),
    Hostile("infinity", lambda t: t.json_body, lambda t: _json(t, '{"name": -Infinity}')),
    Hostile("huge-float", lambda t: t.json_body, lambda t: _json(t, '{"name": 1e999}')),
    Hostile("huge-integer", lambda t: t.json_body, lambda t: _json(t, '{"name": ' + "9" * 5000 + "}")),
    Hostile("huge-integer-query", lambda t: _typed_query(t) is not None and "integer" in _typed_query(t).schema.get("type", ""),
            lambda t: _query(t, f"{_typed_query(t).name}={'9' * 40}")),
    Hostile("nul-in-body", lambda t: t.json_body, lambda t: _json(t, b'{"name": "a\x00b"}')),
    Hostile("nul-in-query", lambda t: _typed_query(t) is not None, lambda t: _query(t, f"{_typed_query(t).name}=%00")),
    Hostile("lone-surrogate", lambda t: t.json_body, lambda t: _json(t, json.dumps({t.string_field(): "\ud800"}))),
    Hostile("lone-surrogate-key", lambda t: t.json_body, lambda t: _json(t, '{"\\udfff": 1}')),
    Hostile("wrong-content-type", lambda t: bool(t.op.body_media), lambda t: _raw(b'{"name": "x"}', "text/plain"), (415,)),
    Hostile("missing-content-type", lambda t: bool(t.op.body_media), lambda t: _raw(b'{"name": "x"}', None), (415,)),
    Hostile("repeated-parameter", lambda t: bool(t.params("query")), _repeat),
    Hostile("extreme-date-leap", lambda t: bool(t.date_fields()),
            lambda t: _query(t, f"{t.date_fields()[0]}=9999-12-31T23:59:60Z")),
    Hostile("extreme-date-year-0", lambda t: bool(t.date_fields()),
            lambda t: _query(t, f"{t.date_fields()[-1]}=0000-01-01T00:00:00Z")),
]


def _error_schemas(api: ApiDefinition, op: Operation | None, status: int) -> list[dict[str, Any]]:
    """The schema an error must match: the operation's for that status, else the API's error
    shape as any of its operations documents it for a 4xx."""
    if op is not None and _json_schema(op.responses.get(str(status), {})) is not None:
        return [_json_schema(op.responses[str(status)])]
    schemas = []
    for other in api.spec.operations.values():
        for code, response in other.responses.items():
            if code.startswith("4") and _json_schema(response) is not None:
                schemas.append(_json_schema(response))
    assert schemas, f"{api.name} documents no error body"
    return schemas


def assert_error_shape(api: ApiDefinition, op: Operation | None, status: int, body: bytes) -> Any:
    document = json.loads(body)
    verdicts = [not list(compile_schema(s).iter_errors(document)) for s in _error_schemas(api, op, status)]
    assert any(verdicts), f"{status} body is not {api.name}'s error shape: {body[:500]!r}"
    return document


def snapshot(app) -> str:
    """Everything a write could change in the default workspace, as text."""
    workspace = app.extensions["sandbox"]["registry"].default
    records = {api: {name: list(c.scan()) for name, c in collections.items()}
               for api, collections in workspace.collections.items()}
    return json.dumps([records, repr(workspace.rng.getstate()), str(workspace._last_now)], default=str)


@pytest.fixture(scope="module")
def hostile_app():
    return create_app(Settings(seed=42, strict=True))


def _cases() -> Iterator[Any]:
    for target in TARGETS:
        for hostile in HOSTILE:
            if hostile.applies(target):
                yield pytest.param(target, hostile, id=f"{target.id}:{hostile.name}")


@pytest.mark.parametrize(("target", "hostile"), list(_cases()))
def test_hostile_input_gets_a_4xx_in_the_apis_shape_and_changes_nothing(hostile_app, target, hostile):
    client = hostile_app.test_client()
    before = snapshot(hostile_app)
    request = {"query_string": target.required_query, **hostile.request(target)}
    response = client.open(target.url, method=target.op.method.upper(), **request)
    assert response.status_code in target.statuses(hostile.statuses), response.data[:500]
    assert_error_shape(target.api, target.op, response.status_code, response.data)
    assert snapshot(hostile_app) == before
    assert client.get("/_sandbox/health").status_code == 200


PATHS = sorted({(t.api.name, t.op.path): t for t in TARGETS}.values(), key=lambda t: t.id)


@pytest.mark.parametrize("target", PATHS, ids=lambda t: f"{t.api.name}:{t.op.path}")
def test_methods_the_spec_does_not_list_get_405_with_allow(hostile_app, target):
    listed = {t.op.method.upper() for t in TARGETS if t.api is target.api and t.op.path == target.op.path}
    client = hostile_app.test_client()
    for method in sorted(set(HTTP_METHODS) - listed):
        response = client.open(target.url, method=method, headers=AUTH)
        assert response.status_code == 405, (method, response.data[:300])
        assert set(response.headers["Allow"].split(", ")) >= listed
        assert_error_shape(target.api, None, 405, response.data)


@pytest.mark.parametrize("target", PATHS, ids=lambda t: f"{t.api.name}:{t.op.path}")
def test_head_answers_as_get_without_a_body_or_405(hostile_app, target):
    client = hostile_app.test_client()
    listed = {t.op.method for t in TARGETS if t.api is target.api and t.op.path == target.op.path}
    head = client.head(target.url, headers=AUTH)
    assert head.data == b""
    if "get" in listed:
        assert head.status_code == client.get(target.url, headers=AUTH).status_code
    else:
        assert head.status_code == 405


TRAVERSALS = ["..%2F..%2F_sandbox%2Fhealth", "%2e%2e%2f%2e%2e%2fpayments", "..%252f..%252f", "%00", "%ff%fe"]


@pytest.mark.parametrize("target", [t for t in TARGETS if t.params("path")], ids=lambda t: t.id)
@pytest.mark.parametrize("traversal", TRAVERSALS)
def test_percent_encoded_traversal_in_a_path_id_stays_in_its_api(hostile_app, target, traversal):
    name = target.params("path")[-1].name
    url = Target(target.api, target.op, {**target.path_values, name: traversal}).url
    response = hostile_app.test_client().open(url, method=target.op.method.upper(), headers=AUTH)
    assert response.status_code in (400, 404), response.data[:300]
    assert_error_shape(target.api, target.op, response.status_code, response.data)


def test_merged_slashes_are_a_404_in_shape_not_a_redirect(hostile_app):
    response = hostile_app.test_client().get("/", environ_overrides={"PATH_INFO": "//payments//customers"},
                                             headers=AUTH)
    assert response.status_code == 404
    payments = next(a for a in APIS if a.name == "payments")
    assert assert_error_shape(payments, None, 404, response.data)["error"] == "not_found"


# -- a write that fails leaves nothing behind --------------------------------------------

def _valid_body(target: Target) -> dict[str, Any]:
    """The operation's documented request example (an empty object where it has none)."""
    if not target.op.body_media:
        return {}
    media = next(iter(target.op.body_media))
    raw = target.api.spec.resolved["paths"][target.op.path][target.op.method]["requestBody"]["content"][media]
    if "example" not in raw:  # an empty object: enough to reach the handler of an optional body
        return {} if not target.op.body_required else {"data": "{}", "content_type": media}
    example = raw["example"]
    return {"data": json.dumps(example) if _is_json(media) else example, "content_type": media}


def _real_ids(app, target: Target) -> Iterator[dict[str, str]]:
    """Path values naming records that exist: ``/customers/{id}`` -> a customer, a nested
    ``/payment-methods/{payment_method_id}`` -> one of that customer's payment methods."""
    workspace = app.extensions["sandbox"]["registry"].default
    collections = workspace.collections.get(target.api.name, {})
    segments = target.op.path.strip("/").split("/")
    names = [(segments[i - 1].replace("-", "_"), s[1:-1]) for i, s in enumerate(segments) if s.startswith("{")]

    def walk(i: int, chosen: dict[str, str], parent: str | None) -> Iterator[dict[str, str]]:
        if i == len(names):
            yield dict(chosen)
            return
        collection, param = names[i]
        if collection not in collections:
            yield from walk(i + 1, {**chosen, param: target.path_values[param]}, parent)
            return
        for record in list(collections[collection].values(parent))[:40]:
            yield from walk(i + 1, {**chosen, param: record["id"]}, record["id"])

    yield from walk(0, {}, None)


# Creating and deleting a workspace change the registry, not a workspace's records: the
# caller's workspace is untouched by them whatever happens (tests/test_workspaces.py covers them).
REGISTRY_WRITES = {"createWorkspace", "deleteWorkspace"}
WRITES = [t for t in TARGETS if t.op.method not in ("get", "head") and t.op.operation_id not in REGISTRY_WRITES]


@pytest.mark.parametrize("target", WRITES, ids=lambda t: t.id)
def test_a_write_that_fails_after_the_handler_ran_is_undone(monkeypatch, target):
    """The handler writes, then the answer cannot be sent: the workspace is as it was.
    (``--strict`` checks every answer, a 204 included, before it is sent: that check fails.)"""
    from sandbox.engine.validation import ResponseValidator

    app = create_app(Settings(seed=42, strict=True))
    client = app.test_client()
    real = ResponseValidator.problems
    for path_values in _real_ids(app, target):
        url = Target(target.api, target.op, path_values).url
        before = snapshot(app)
        monkeypatch.setattr(ResponseValidator, "problems", _fails)
        failed = client.open(url, method=target.op.method.upper(), headers=AUTH,
                             query_string=target.required_query, **_valid_body(target))
        monkeypatch.setattr(ResponseValidator, "problems", real)
        assert snapshot(app) == before
        if failed.status_code != 500:
            continue  # refused before the handler wrote (archived, missing...): try other ids
        assert_error_shape(target.api, target.op, 500, failed.data) if "500" in target.op.responses else None
        response = client.open(url, method=target.op.method.upper(), headers=AUTH,
                               query_string=target.required_query, **_valid_body(target))
        assert response.status_code < 300, response.data[:300]
        return
    pytest.fail(f"no request to {target.id} reached its handler")


def _fails(*args, **kwargs):
    raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")


# -- against a live server: slow clients, and what the HTTP server refuses itself -------

@pytest.fixture(scope="module")
def live():
    server = LiveServer()
    yield server
    server.stop()


def _health(server: LiveServer) -> int:
    with urllib.request.urlopen(f"{server.url}/_sandbox/health", timeout=TIMEOUT) as response:
        return response.status


def _exchange(server: LiveServer, raw: bytes) -> tuple[int, bytes]:
    """Send raw bytes, read the whole answer (the server closes after an error)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _api_of(path: str) -> ApiDefinition:
    matches = [a for a in APIS if path.startswith(a.prefix + "/") or path == a.prefix]
    return max(matches, key=lambda a: len(a.prefix)) if matches else next(a for a in APIS if a.name == "sandbox")


def test_64_slow_clients_on_every_operation_do_not_stop_the_server(live):
    """Half-sent headers and half-sent bodies, held open, to every operation: others are served."""
    held = []
    try:
        for i in range(64):
            target = TARGETS[i % len(TARGETS)]
            sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
            line = f"{target.op.method.upper()} {target.url} HTTP/1.1\r\nHost: x\r\n".encode()
            if i % 2:
                sock.sendall(line + b"Authorization: Bearer sand")
            else:
                sock.sendall(line + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"na")
            held.append(sock)
        for _ in range(5):
            assert _health(live) == 200
        request = urllib.request.Request(f"{live.url}/payments/customers?limit=1", headers=AUTH)
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            assert len(json.load(response)["data"]) == 1
    finally:
        for sock in held:
            sock.close()
    assert _health(live) == 200


def test_bodies_received_at_once_are_bounded_and_the_rest_is_served():
    # one worker (the bound is per worker: with the Redis pass's store the default would be one
    # worker per core), so BODIES stalled bodies are the most it lets wait
    server = LiveServer("--workers", "1")
    head = (b"POST /payments/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer sandbox-token\r\nContent-Length: 100\r\n\r\n{\"na")
    held = []
    try:
        for _ in range(BODIES):
            held.append(socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT))
            held[-1].sendall(head)
        _health(server)  # every stalled body is being received by now: requests are taken in order
        status, body = _exchange(server, head)
        assert status == 429
        assert assert_error_shape(_api_of("/payments/customers"), None, 429, body)
        for _ in range(5):
            assert _health(server) == 200
    finally:
        for sock in held:
            sock.close()
        server.stop()


@pytest.mark.parametrize("path", sorted({t.url for t in TARGETS}))
def test_oversized_headers_are_refused_in_the_apis_shape(live, path):
    start = f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: ".encode()
    status, body = _exchange(live, start + b"a" * MAX_HEADERS + b"\r\n\r\n")
    assert status == 431
    document = assert_error_shape(_api_of(path), None, 431, body)
    assert "headers" in json.dumps(document)
    assert _health(live) == 200


# What granian answers itself, before the app sees the request: no API can be told from it
# reliably, and its answer has no body. These pin the exact bytes the README documents.
GRANIAN_REFUSALS = [
    ("headers past granian's read buffer", b"GET /payments/customers HTTP/1.1\r\nHost: x\r\nX-Big: "
     + b"a" * READ_BUFFER + b"\r\n\r\n", 431),
    ("more than 100 headers", b"GET /payments/customers HTTP/1.1\r\nHost: x\r\n"
     + b"".join(b"X-H%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431),
    ("a negative Content-Length", b"GET /payments/customers HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
    ("no request line", b"HELLO\r\n\r\n", 400),
]


@pytest.mark.parametrize("raw, status", [r[1:] for r in GRANIAN_REFUSALS], ids=[r[0] for r in GRANIAN_REFUSALS])
def test_what_granian_refuses_itself_is_a_bare_4xx_and_the_server_goes_on(live, raw, status):
    answered, body = _exchange(live, raw)
    assert (answered, body) == (status, b"")
    assert _health(live) == 200


@pytest.mark.parametrize("target", [t for t in TARGETS if t.op.body_media], ids=lambda t: t.id)
def test_a_body_over_the_limit_is_refused_before_it_is_read(live, target):
    raw = (f"{target.op.method.upper()} {target.url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode()
    status, body = _exchange(live, raw)  # the body is never sent: the server must not wait for it
    assert status == 413
    assert_error_shape(target.api, target.op, 413, body)
    assert _health(live) == 200


def test_a_chunked_body_over_the_limit_is_a_413_in_shape(live):
    chunk = b"x" * (MAX_BODY + 1)
    status, body = _exchange(live, b"POST /payments/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
    assert status == 413
    assert_error_shape(_api_of("/payments/customers"), None, 413, body)
    assert _health(live) == 200


def test_merged_slashes_live_are_a_404_in_the_apis_shape(live):
    status, body = _exchange(live, b"GET //payments//customers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 404
    assert json.loads(body)["error"] == "not_found"
