"""The API sandbox: ``create_app(settings)`` serves every API in ``openapi/`` from one process."""
from __future__ import annotations

import logging

from flask import Flask, Request, Response, request
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
    from .dispatch import Dispatch
    from .engine.workspaces import open_registry

    settings = settings or Settings.from_env()
    apis = discover()
    registry = open_registry(apis, settings)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # a net under the view's own 413
    app.url_map.merge_slashes = False  # //payments//customers is a 404 in shape, not a 308 redirect
    app.extensions["sandbox"] = {"settings": settings, "registry": registry, "apis": apis}
    views = {}
    for api in apis:
        blueprint, api_views = build_blueprint(api, registry, settings)
        app.register_blueprint(blueprint)
        views.update(api_views)
    from .docs import init_app as init_docs
    init_docs(app)
    _register_errors(app, apis)
    app.wsgi_app = Dispatch(app, views, lambda this, error: answer_error(apis, this, error))  # type: ignore[method-assign]
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


def answer_error(apis, this: Request, error: Exception) -> Response:
    """The answer to ``error``, raised while answering ``this``, in the shape of its path's API:
    the one place errors become answers (Flask's error handlers and ``dispatch`` call it)."""
    if isinstance(error, Offload):
        return Response(status=503)  # never sent: the server runs the request again in a thread
    api = _api_for_path(apis, this.path)
    if isinstance(error, ApiError):
        return error_response(api, error)
    if isinstance(error, HTTPException):
        path = quote(this.path)
        if error.code == 404:
            typed: ApiError = NotFound(f"No route {this.method} {path} in the {api.name} API.")
        elif error.code == 405:
            allowed = ", ".join(error.valid_methods or [])
            typed = MethodNotAllowed(f"{this.method} is not allowed on {path}; allowed: {allowed}.",
                                     headers={"Allow": allowed})
        elif error.code and 400 <= error.code < 500:
            typed = error_for_status(error.code, error.description or error.name)
        else:
            typed = error_for_status(error.code or 500, error.name)
        return error_response(api, typed)
    log.error("unhandled error on %s %s", this.method, this.path, exc_info=error)
    return error_response(api, ServerError("The sandbox failed; this is a bug."))


def _register_errors(app: Flask, apis) -> None:
    @app.errorhandler(Exception)
    def any_error(error: Exception):
        return answer_error(apis, request._get_current_object(), error)
