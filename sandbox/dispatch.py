"""The app's WSGI entry: an API operation is called directly, everything else goes through Flask.

For every request Flask pushes an application and a request context, opens a session and runs
the before/after hooks: about 25 µs, a fifth of a list read, for things no operation uses. An
operation's view takes the request as an argument (``engine.routing``), so ``Dispatch`` matches
the path against the app's own URL map and calls the view with a request it makes, and turns an
error into an answer with the same function Flask's error handler calls (``answer_error``).
What is not an operation (the docs, a path or method that matches nothing), and a request from
a browser page (``Origin``: the docs add CORS headers, in Flask hooks), go through Flask as before.

The URL map's answer for a method and path never changes (no host or subdomain rules), so the
last ``MATCHES`` operations matched are remembered: matching is about a twentieth of a read.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from flask import Flask, Request, Response
from werkzeug.exceptions import HTTPException

from .engine.routing import View

MATCHES = 4096  # (method, path) -> (view, path arguments) remembered; all forgotten when full


class Dispatch:
    def __init__(self, app: Flask, views: dict[str, View], answer_error: Callable[[Request, Exception], Response]) -> None:
        self.flask = app.wsgi_app
        self.url_map = app.url_map
        self.request_class = app.request_class
        self.views = views
        self.answer_error = answer_error
        self._matched: dict[tuple[str, str], tuple[View, dict[str, Any]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if "HTTP_ORIGIN" in environ:
            return self.flask(environ, start_response)
        route = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
        matched = self._matched.get(route)
        if matched is None:
            try:
                endpoint, path_args = self.url_map.bind_to_environ(environ).match()
            except HTTPException:  # no such route or method: Flask answers (in shape, by its error handler)
                return self.flask(environ, start_response)
            view = self.views.get(endpoint)
            if view is None:
                return self.flask(environ, start_response)
            if len(self._matched) >= MATCHES:
                self._matched.clear()
            matched = self._matched[route] = (view, path_args)
        view, path_args = matched
        this = self.request_class(environ)
        try:
            response = view(this, **path_args)
        except Exception as error:  # noqa: BLE001 (every error is answered, in the API's shape)
            response = self.answer_error(this, error)
        return response(environ, start_response)
