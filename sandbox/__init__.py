"""The API sandbox: ``create_app(settings)`` serves every API in ``openapi/`` from one process."""
from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from .engine.errors import ApiError, BadRequest, MethodNotAllowed, NotFound
from .engine.routing import build_blueprint, error_response, json_response
from .settings import Settings

__version__ = "0.1.0"
log = logging.getLogger("sandbox")


def create_app(settings: Settings | None = None) -> Flask:
    """Load and check every spec, seed the default workspace, mount each API at its prefix."""
    from .apis import discover
    from .engine.workspaces import Registry

    settings = settings or Settings.from_env()
    apis = discover()
    registry = Registry(apis, settings)
    app = Flask(__name__)
    app.json.sort_keys = False
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


def _register_errors(app: Flask, apis) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return error_response(_api_for_path(apis, request.path), error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        api = _api_for_path(apis, request.path)
        if error.code == 404:
            typed: ApiError = NotFound(f"No route {request.method} {request.path} in the {api.name} API.")
        elif error.code == 405:
            allowed = ", ".join(error.valid_methods or [])
            typed = MethodNotAllowed(f"{request.method} is not allowed on {request.path}; allowed: {allowed}.",
                                     headers={"Allow": allowed})
        elif error.code and 400 <= error.code < 500:
            typed = BadRequest(error.description or error.name)
            typed.status = error.code
        else:
            return json_response({"error": "internal_error", "message": error.name}, error.code or 500)
        return error_response(api, typed)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"error": "internal_error", "message": "The sandbox failed; this is a bug."}, 500)
