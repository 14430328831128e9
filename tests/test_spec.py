"""The specs are valid OpenAPI 3.1, strict, and their examples obey their schemas."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from sandbox.engine.spec import METHODS, load_spec, resolve_refs
from sandbox.engine.validation import compile_schema

from .conftest import AUTH, ROOT

SPECS = sorted((ROOT / "openapi").glob("*.yaml"))
IDS = [p.stem for p in SPECS]


@pytest.mark.parametrize("path", SPECS, ids=IDS)
def test_openapi_spec_validator_reports_no_errors(path: Path):
    document = yaml.safe_load(path.read_text())
    assert document["openapi"].startswith("3.1")
    try:
        validate(document)
    except OpenAPIValidationError as error:  # pragma: no cover - the message is the point
        pytest.fail(f"{path.name}: {error}")


def _operations(document: dict) -> Iterator[tuple[str, str, dict]]:
    for route, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield route, method, item[method]


@pytest.mark.parametrize("path", SPECS, ids=IDS)
def test_every_operation_has_an_id_a_handler_and_documented_errors(path: Path):
    document = yaml.safe_load(path.read_text())
    ids = [op.get("operationId") for _, _, op in _operations(document)]
    assert all(ids) and len(ids) == len(set(ids)), ids
    load_spec(path.stem)  # fails on a missing x-sandbox handler name or collection schema
    for route, method, op in _operations(document):
        assert "x-sandbox" in op, f"{method} {route}"
        can_fail = op.get("parameters") or op.get("requestBody") or op.get("security", document.get("security"))
        errors = [s for s in op["responses"] if s.startswith("4")]
        assert errors or not can_fail, f"{method} {route} documents no 4xx"


def _objects(schema: Any, where: str) -> Iterator[tuple[str, dict]]:
    """Every object schema inside a (resolved) schema, with where it is."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            yield where, schema
        for key, value in schema.items():
            if key in ("example", "examples"):
                continue
            yield from _objects(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _objects(value, f"{where}[{i}]")


@pytest.mark.parametrize("path", SPECS, ids=IDS)
def test_response_objects_are_strict(path: Path):
    """Every object in a response body lists `required` and forbids unknown properties,
    except declared free-form maps (no `properties`: custom_data, counts, ...)."""
    document = yaml.safe_load(path.read_text())
    resolved = resolve_refs(document, document)
    loose = []
    for route, method, op in _operations(resolved):
        for status, response in op["responses"].items():
            for media in response.get("content", {}).values():
                for where, obj in _objects(media.get("schema", {}), f"{method} {route} {status}"):
                    if "properties" not in obj:
                        continue  # a free-form map
                    if obj.get("additionalProperties") is not False or "required" not in obj:
                        if path.stem == "sandbox" and route == "/specs/{api}":
                            continue  # an OpenAPI document is open by nature
                        loose.append(where)
    assert not loose, loose


def _examples(node: Any, schema: Any = None) -> Iterator[tuple[dict, Any]]:
    """(schema, example value) for every example next to a schema in a resolved document."""
    if isinstance(node, dict):
        here = node.get("schema", schema)
        if "example" in node and isinstance(here, dict) and "schema" in node:
            yield node["schema"], node["example"]
        if "examples" in node and isinstance(node["examples"], dict) and "schema" in node:
            for example in node["examples"].values():
                if isinstance(example, dict) and "value" in example:
                    yield node["schema"], example["value"]
        if "example" in node and "type" in node and "schema" not in node:
            yield node, node["example"]
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _examples(value, here)
    elif isinstance(node, list):
        for value in node:
            yield from _examples(value, schema)


@pytest.mark.parametrize("path", SPECS, ids=IDS)
def test_examples_are_valid_against_their_schemas(path: Path):
    document = yaml.safe_load(path.read_text())
    resolved = resolve_refs(document, document)
    pairs = list(_examples(resolved["paths"])) + list(_examples(resolved.get("components", {}).get("schemas", {})))
    assert pairs, "a spec with no examples"
    bad = []
    for schema, example in pairs:
        problems = list(compile_schema(schema).iter_errors(example))
        if problems:
            bad.append((example, [p.message for p in problems]))
    assert not bad, bad


def test_dockerfile_passes_hadolint_at_warning_level():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "-t", "warning", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _enums(node: Any) -> Iterator[tuple[dict, list]]:
    if isinstance(node, dict):
        if "enum" in node:
            yield node, node["enum"]
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)


@pytest.mark.parametrize("path", SPECS, ids=IDS)
def test_string_enums_hold_only_strings(path: Path):
    """YAML 1.1 reads an unquoted NO, ON, OFF, YES as booleans: a country or state enum
    must still hold the strings it means."""
    document = yaml.safe_load(path.read_text())
    bad = [(schema.get("type"), values) for schema, values in _enums(document)
           if "string" in (schema.get("type") or []) and not all(isinstance(v, str) for v in values)]
    assert not bad, bad


ERROR_EXAMPLES = [  # (api, component response, example name or None, the request that shows it)
    ("payments", "BadRequest", None, ("GET", "/payments/customers?limit=500", None)),
    ("payments", "NotFound", None, ("GET", "/payments/customers/0b7e6a64-7f0e-4d8c-9a55-3c1b9d2f4e10", None)),
    ("payments", "ValidationFailed", None, ("POST", "/payments/customers", {"ein": "123"})),
    ("payments", "UnsupportedMediaType", None, ("POST", "/payments/customers", "text")),
    ("billing", "BadRequest", "limitOutOfRange",
     ("GET", "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses?limit=0", None)),
    ("billing", "BadRequest", "unknownStatus",
     ("GET", "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses?status=deleted", None)),
    ("billing", "NotFound", None, ("GET", "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0zz/addresses", None)),
    ("exemptions", "BadRequest", None, ("GET", "/exemptions/customers?corporation_id=corp_123&limit=101", None)),
    ("exemptions", "NotFound", None, ("GET", "/exemptions/customers?corporation_id=corp_999", None)),
]


@pytest.mark.parametrize(("api", "response", "name", "request_"), ERROR_EXAMPLES,
                         ids=[f"{a}:{r}:{n or ''}" for a, r, n, _ in ERROR_EXAMPLES])
def test_error_examples_are_bodies_the_server_sends(read_client, api, response, name, request_):
    document = yaml.safe_load((ROOT / "openapi" / f"{api}.yaml").read_text())
    media = document["components"]["responses"][response]["content"]["application/json"]
    example = media["examples"][name]["value"] if name else media["example"]
    method, url, body = request_
    kwargs = {"data": body, "content_type": "text/plain"} if isinstance(body, str) else {"json": body}
    answer = read_client.open(url, method=method, headers=AUTH, **(kwargs if body is not None else {}))
    assert answer.get_json() == example


UNAUTHENTICATED = {"payments": "/payments/customers", "billing": "/billing/v1/customers/cus_x/businesses",
                   "exemptions": "/exemptions/customers?corporation_id=corp_123"}


@pytest.mark.parametrize("api", sorted(UNAUTHENTICATED))
def test_the_401_example_is_the_body_the_server_sends(read_client, api):
    """A partner copying the documented 401 gets the server's own bytes' meaning, field for field."""
    document = yaml.safe_load((ROOT / "openapi" / f"{api}.yaml").read_text())
    example = document["components"]["responses"]["Unauthorized"]["content"]["application/json"]["example"]
    response = read_client.get(UNAUTHENTICATED[api])
    assert response.status_code == 401 and response.get_json() == example
