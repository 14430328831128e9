"""The API sandbox: ``create_app(settings)`` serves every API in ``openapi/`` from one process."""
from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from .engine.errors import (ApiError, BadRequest, HeadersTooLarge, MethodNotAllowed, NotFound, PayloadTooLarge,
                            ServerError, TooManyRequests, UriTooLong, quote)
from .engine.inline import Offload
from .engine.routing import build_blueprint, error_response
from .engine.validation import MAX_BODY
from .settings import Settings

__version__ = "0.1.0"
log = logging.getLogger("sandbox")


def create_app(settings: Settings | None = None) -> Flask:
    """Load and check every spec, seed the default workspace, mount each API at its prefix."""
    from .apis import discover
    from .engine.workspaces import open_registry

    settings = settings or Settings.from_env()
    apis = discover()
    registry = open_registry(apis, settings)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # a net under the view's own 413
    app.url_map.merge_slashes = False  # //payments//customers is a 404 in shape, not a 308 redirect
    app.extensions["sandbox"] = {"settings": settings, "registry": registry, "apis": apis}
    for api in apis:
        app.register_blueprint(build_blueprint(api, registry, settings))
    from .docs import init_app as init_docs
    init_docs(app)
    _register_errors(app, apis)
    return app


def _api_for_path(apis, path: str):
    """The API whose prefix holds ``path`` (the control API otherwise), to answer in its shape."""
    matches = [a for a in apis if path == a.prefix or path.startswith(a.prefix + "/")]
    if matches:
        return max(matches, key=lambda a: len(a.prefix))
    return next(a for a in apis if a.name == "sandbox")


_BELOW_APP: dict[int, type[ApiError]] = {413: PayloadTooLarge, 414: UriTooLong, 429: TooManyRequests,
                                         431: HeadersTooLarge}


def error_for_status(status: int, message: str) -> ApiError:
    """A typed error for a status raised below the handlers (werkzeug, the HTTP server)."""
    typed = _BELOW_APP.get(status, BadRequest if status < 500 else ServerError)(message)
    typed.status = status
    return typed


def render_error(app: Flask, path: str, error: ApiError) -> Response:
    """``error`` in the shape of the API that ``path`` belongs to (the control API's otherwise);
    also used by the HTTP server for requests it refuses before the app sees them."""
    return error_response(_api_for_path(app.extensions["sandbox"]["apis"], path), error)


def _register_errors(app: Flask, apis) -> None:
    @app.errorhandler(Offload)
    def offloaded(error: Offload):
        return Response(status=503)  # never sent: the server runs the request again in a thread

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return error_response(_api_for_path(apis, request.path), error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        api = _api_for_path(apis, request.path)
        path = quote(request.path)
        if error.code == 404:
            typed: ApiError = NotFound(f"No route {request.method} {path} in the {api.name} API.")
        elif error.code == 405:
            allowed = ", ".join(error.valid_methods or [])
            typed = MethodNotAllowed(f"{request.method} is not allowed on {path}; allowed: {allowed}.",
                                     headers={"Allow": allowed})
        elif error.code and 400 <= error.code < 500:
            typed = error_for_status(error.code, error.description or error.name)
        else:
            typed = error_for_status(error.code or 500, error.name)
        return error_response(api, typed)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(_api_for_path(apis, request.path), ServerError("The sandbox failed; this is a bug."))
