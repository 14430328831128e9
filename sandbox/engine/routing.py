"""Spec paths -> one Flask Blueprint per API; one response writer for bodies and errors."""
from __future__ import annotations

from itertools import repeat
from typing import TYPE_CHECKING, Any, Callable

import orjson
from flask import Blueprint, Response, request

from .api import ApiDefinition, Context, Reply
from .auth import authenticate
from .controls import controlled
from .errors import ApiError
from .inline import held
from .pagination import Page
from .validation import RequestValidator, ResponseValidator, check_size

if TYPE_CHECKING:
    from flask import Request

    from ..settings import Settings
    from .workspaces import Registry


def public(value: Any) -> Any:
    """A stored record as clients see it: internal keys (leading ``_``) dropped. A record
    without any is served as it is (records are never changed in place), not copied. The
    keys are tested in C (``map``), as every record of every page is."""
    if isinstance(value, dict) and any(map(str.startswith, value, repeat("_"))):
        return {k: v for k, v in value.items() if not k.startswith("_")}
    return value


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  mimetype: str = "application/json") -> Response:
    """UTF-8 JSON (orjson: compact, non-ASCII as is); ValueError for a body no client could
    read (a lone surrogate). NaN and Infinity never reach a body: request bodies and
    scenario files refuse them when read (orjson would write them as null)."""
    if status == 204:  # No Content: no body, so no Content-Type either
        response = Response(status=204, headers=headers)
        response.headers.remove("Content-Type")
        return response
    try:
        text = orjson.dumps(body)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"body cannot be sent as JSON: {exc}") from None
    return Response(text, status=status, headers=headers, mimetype=mimetype)


def error_response(api: ApiDefinition, error: ApiError) -> Response:
    return json_response(api.render_error(error), error.status, error.headers, api.media_type)


class ServerFault(Exception):
    """The sandbox broke its own contract (``--strict``): a bug, reported as a 500."""


View = Callable[..., Response]  # (request, **path arguments) -> the answer


def build_blueprint(api: ApiDefinition, registry: "Registry", settings: "Settings") -> tuple[Blueprint, dict[str, View]]:
    """Routes for every operation of ``api``, validators compiled here, once; and each operation's
    view by endpoint, called with the request itself (``sandbox.dispatch``; Flask's routes hand it
    over from Flask's request context)."""
    blueprint = Blueprint(api.name, __name__, url_prefix=api.prefix)
    views: dict[str, View] = {}
    for op in api.spec.operations.values():
        view = views[f"{api.name}.{op.operation_id}"] = controlled(api, op, registry, settings,
                                                                   _view(api, op, registry, settings))
        blueprint.add_url_rule(
            op.flask_rule,
            endpoint=op.operation_id,
            view_func=_from_flask(view),
            methods=[op.method.upper()],
            strict_slashes=True,
            provide_automatic_options=False,
        )
    return blueprint, views


def _from_flask(view: View) -> Callable[..., Response]:
    def flask_view(**path_args: str) -> Response:
        return view(request._get_current_object(), **path_args)

    flask_view.__name__ = view.__name__
    return flask_view


def _view(api: ApiDefinition, op, registry: "Registry", settings: "Settings"):
    validate = RequestValidator(op, check=settings.validate, closed_query=api.closed_query)
    check_response = ResponseValidator(op) if settings.strict else None
    handler = api.handler(op)
    shape = api.error_shape(op)
    prepare = getattr(handler, "prepare", None)  # checks that need no lock (a scenario's records)
    writes = op.method not in ("get", "head")

    def render(ctx: Context, result: Any) -> Response:
        """The handler's data in the API's shape; raises (undoing a write) if it cannot be sent."""
        reply = result if isinstance(result, Reply) else Reply(result)
        body = reply.body
        if isinstance(body, Page):
            assert api.envelope is not None, f"{api.name} returns pages but has no envelope"
            if api.internal_keys and not body.public:
                body.items = [public(r) for r in body.items]
            body = api.envelope(body, ctx)
        elif api.single is not None and reply.status != 204:
            body = api.single(body, ctx)
        elif api.internal_keys:
            body = public(body)
        if check_response is not None:
            problems = check_response.problems(reply.status, body)
            if problems:
                raise ServerFault(f"{op.operation_id} answered against its spec: {problems}")
        return json_response(body, reply.status, reply.headers, api.media_type)

    def view(this: "Request", **path_args: str) -> Response:
        try:
            return serve(this, path_args)
        except ApiError as error:
            if shape is None:
                raise  # rendered once, in the API's shape (answer_error)
            status, body = shape(error)  # the operation's own shape (x-sandbox: {errors: ...})
            return json_response(body, status, error.headers)

    def serve(this: "Request", path_args: dict[str, str]) -> Response:
        check_size(this.content_length, this.query_string)
        workspace = authenticate(op, this, registry, api.name, admin_only=api.admin_only)
        valid = validate(path_args, this.args, this.headers, this.mimetype if op.body_media else "",
                         lambda: this.get_data(cache=True))
        ctx = Context(api, op, valid, workspace, registry, this)
        if prepare is not None:
            prepare(ctx)
        if workspace is None:
            return render(ctx, handler(ctx))
        with held(workspace.lock):  # for the whole request; a write is also all-or-nothing
            if not writes:
                return render(ctx, handler(ctx))
            with workspace.transaction():
                return render(ctx, handler(ctx))

    view.__name__ = op.operation_id
    return view
