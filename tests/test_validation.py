"""The serving path's compiled validators agree with openapi-core, the reference validator.

schemathesis generates schema-valid and schema-invalid requests for every operation of
every spec; each is checked by both validators and the verdicts must match.
"""
from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.validation.request.exceptions import SecurityValidationError
from schemathesis.generation import GenerationMode
from schemathesis.transport.wsgi import WSGI_TRANSPORT
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from sandbox.engine.errors import ApiError
from sandbox.engine.spec import load_spec
from sandbox.engine.validation import RequestValidator

from .conftest import AUTH, ROOT

APIS = sorted(p.stem for p in (ROOT / "openapi").glob("*.yaml"))


def _operations():
    for api in APIS:
        spec = load_spec(api)
        schema = schemathesis.openapi.from_path(spec.path)
        for result in schema.get_all_operations():
            operation = result.ok()
            yield pytest.param(spec, operation, id=f"{api}:{operation.definition.raw['operationId']}")


def _ours(spec, op, request: Request, path_args) -> list[str]:
    try:
        RequestValidator(op)(path_args, request.args, request.headers, request.mimetype,
                             lambda: request.get_data(cache=True))
    except ApiError as error:
        return [error.message]
    return []


def _reference(spec, op, request: Request) -> list[str]:
    errors = spec.openapi.iter_request_errors(WerkzeugOpenAPIRequest(request))
    # str() of a MediaTypeDeserializeError raises on a non-UTF-8 body: name the class instead
    found = [type(e).__name__ for e in errors if not isinstance(e, SecurityValidationError)]
    # openapi-core reads the first of a repeated scalar query parameter; the sandbox refuses it
    repeated = [p.name for p in op.parameters if p.location == "query" and len(request.args.getlist(p.name)) > 1]
    return found + [f"{name} given more than once" for name in repeated]


@pytest.mark.filterwarnings("ignore:Unsupported scheme type")
@pytest.mark.filterwarnings("ignore:Use of allowEmptyValue property is deprecated")  # after=, cursor=, status= have a meaning
@pytest.mark.parametrize(("spec", "operation"), list(_operations()))
@hypothesis.settings(max_examples=60, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(data=st.data())
def test_compiled_validators_agree_with_openapi_core(spec, operation, data):
    mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    case = data.draw(operation.as_strategy(generation_mode=mode))
    kwargs = WSGI_TRANSPORT.serialize_case(case)
    kwargs["headers"] = {**kwargs.get("headers", {}), **AUTH}
    request = Request(EnvironBuilder(**kwargs).get_environ())
    op = spec.operations[operation.definition.raw["operationId"]]
    path_args = {k: str(v) for k, v in (case.path_parameters or {}).items()}
    ours, reference = _ours(spec, op, request, path_args), _reference(spec, op, request)
    assert bool(ours) == bool(reference), f"ours={ours} openapi-core={reference} request={kwargs}"
