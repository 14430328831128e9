"""Serve the app under waitress, in one process, with slow clients kept off the worker threads.

One process on purpose: state is in memory, so several worker processes would each hold
different data (a freshly created id answered 404 on 7 of 10 reads with 4 workers).

waitress reads every request (headers and body) asynchronously in its main loop and hands
only complete requests to the worker threads, so clients that send slowly, or stop half
way, hold a socket but never a thread: 64 of them left ``/_sandbox/health`` answering in
milliseconds, where gunicorn's gthread worker (a thread per connection being read) stopped
answering with 4. Requests over the limits, and anything else waitress refuses before the
app sees it, are answered in the shape of the API the path belongs to.
"""
from __future__ import annotations

import logging
import re
import socket
import sys
from typing import Any, Callable

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from .engine.validation import MAX_BODY

MAX_HEADERS = 128 * 1024     # bytes of request line plus headers (a query over MAX_QUERY gets the app's 414 first)
IDLE_TIMEOUT = 30            # seconds a connection may stay silent before it is closed
MAX_CONNECTIONS = 1000
_REQUEST_LINE = re.compile(rb"^\s*[A-Z]+ (\S+)")


class PortInUse(OSError):
    """The address is taken (or cannot be bound): said at once, before the app is built."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; PortInUse if another process holds it."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _path_of(task: ErrorTask) -> str:
    """The path of a request waitress refused, from what it read of the request line."""
    request = task.request
    for raw in (request.header_plus, request.first_line or b""):
        match = _REQUEST_LINE.match(raw)
        if match and match.group(1) != b"/":
            return match.group(1).split(b"?")[0].decode("latin-1")
    return request.path or "/"


def _messages(code: int, reason: str, detail: str) -> str:
    if code == 413:
        return f"The request body is larger than the limit of {MAX_BODY} bytes."
    if code == 431:
        return f"The request line and headers are larger than the limit of {MAX_HEADERS} bytes."
    return f"{reason}: {detail}."


def _channel_for(app: Flask) -> type[HTTPChannel]:
    from . import error_for_status, render_error

    class ShapedErrorTask(ErrorTask):
        """waitress's own refusals (oversized headers, malformed requests) in the API's shape."""

        def execute(self) -> None:
            error = self.request.error
            typed = error_for_status(error.code, _messages(error.code, error.reason, error.body))
            with app.app_context():
                response = render_error(app, _path_of(self), typed)
            body = response.get_data()
            self.status = response.status
            self.response_headers.extend((k, v) for k, v in response.headers.items() if k.lower() != "content-length")
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class Channel(HTTPChannel):
        error_task_class = ShapedErrorTask

    return Channel


def _access_log(app: Callable) -> Callable:
    """``METHOD /path?query STATUS`` for every request, on stdout."""
    log = logging.getLogger("sandbox.access")
    log.setLevel(logging.INFO)
    log.addHandler(logging.StreamHandler(sys.stdout))

    def logged(environ: dict[str, Any], start_response: Callable) -> Any:
        def start(status: str, headers: list, exc_info: Any = None) -> Any:
            query = environ.get("QUERY_STRING")
            target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            log.info("%s %s %s %s", environ.get("REMOTE_ADDR", "-"), environ["REQUEST_METHOD"], target, status[:3])
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


def serve(app: Flask, sock: socket.socket, threads: int = 4, access_log: bool = False) -> None:
    """Serve ``app`` on an already bound socket until the process is stopped."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is 1": noise, not news
    server = create_server(
        _access_log(app) if access_log else app,
        sockets=[sock],
        threads=threads,
        connection_limit=MAX_CONNECTIONS,
        channel_timeout=IDLE_TIMEOUT,
        max_request_header_size=MAX_HEADERS,
        max_request_body_size=MAX_BODY,
        asyncore_use_poll=True,  # select() stops at 1,024 descriptors
        ident="sandbox",
    )
    server.channel_class = _channel_for(app)
    server.run()
