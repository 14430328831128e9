"""The Flask (WSGI) app served over granian's RSGI interface, one event-loop thread per worker.

Why not granian's own WSGI: it runs each request on one of a pool of threads, and handing
requests between threads that take turns holding the GIL cost more than the requests themselves
(payments' customer list, one worker, ``wrk -c8``: 3,200-3,950 req/s with 64 threads, 3,700-3,900
with 2, 6,000-6,400 with 1). Here every request runs in the worker's event-loop thread, one after
the other, so they never contend for the GIL; what would make that thread wait goes elsewhere:

- a request body is received asynchronously (a client sending slowly holds no thread), at most
  ``BODIES`` at once per worker (a 429 with ``Retry-After: 1`` beyond), each within
  ``BODY_TIMEOUT`` seconds (a 408 after), and never past ``MAX_BODY`` (a 413);
- a write (any method but GET and HEAD), and a request that finds it would wait (a delay to
  sleep, a workspace lock another thread holds: ``engine.inline.Offload``), runs in a pool of
  ``threads`` threads instead, where it may wait without holding up anyone else;
- a read's last round trip to a shared store (its journal entry, with Redis) is awaited while
  the loop serves other requests (``engine.inline.defer``); if it says no (what the read relied
  on changed meanwhile) or fails, the read runs again in a thread.

Heads over ``MAX_HEADERS`` and declared bodies over ``MAX_BODY`` are answered before the app
runs, in the shape of the API the path belongs to. RSGI gives the path percent-decoded as UTF-8
text: a path whose escapes are not UTF-8 (``%FF``) reaches the app with U+FFFD in their place.
"""
from __future__ import annotations

import asyncio
import io
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from flask import Flask

from .engine.inline import inlined
from .engine.validation import MAX_BODY

MAX_HEADERS = 128 * 1024  # bytes of request line plus headers (a query over MAX_QUERY gets the app's 414 first)
BODY_TIMEOUT = 30         # seconds a request body may take to arrive whole
BODIES = 128              # bodies a worker receives at once (each up to MAX_BODY, in memory until it is whole)
SAFE = frozenset({"GET", "HEAD"})
log = logging.getLogger("sandbox")
Answer = tuple[int, list[tuple[str, str]], bytes]


def environ_of(scope: Any, body: bytes) -> dict[str, Any]:
    """The WSGI environ of an RSGI request, as granian's WSGI interface builds it (text as
    latin-1 of the bytes, repeated headers joined with commas), with its body in memory."""
    host, _, port = scope.server.rpartition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method, "SCRIPT_NAME": "",
        "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.query_string.encode("utf-8").decode("latin-1"),
        "SERVER_NAME": host, "SERVER_PORT": port, "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": scope.client.rpartition(":")[0], "wsgi.version": (1, 0), "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def header_bytes(scope: Any) -> int:
    """About the size of the request line and headers as sent (names, values, separators)."""
    return len(scope.path) + len(scope.query_string) + 20 + sum(len(k) + len(v) + 4 for k, v in scope.headers.items())


def run(app: Callable, environ: dict[str, Any]) -> Answer:
    """One WSGI call, its answer collected whole."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        started[:] = [int(status[:3]), headers]
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return started[0], started[1], body


class Bridge:
    """An RSGI app serving ``wsgi`` (see the module's docstring); ``refuse(path, status, message)``
    answers a request refused before the app runs, in the shape of its API."""

    def __init__(self, wsgi: Callable, refuse: Callable[[str, int, str], Answer], threads: int,
                 bodies: int = BODIES) -> None:
        self.wsgi = wsgi
        self.refuse = refuse
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sandbox")
        self.bodies = bodies
        self.receiving = 0

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        body, refused = b"", self._refusal(scope)
        if refused is None and _has_body(scope):
            body, refused = await self._receive(proto)
        if refused is not None:
            status, headers, data = self.refuse(scope.path, *refused)
            headers = [*headers, ("Connection", "close")]
            if refused[0] == 429:
                headers.append(("Retry-After", "1"))
        else:
            answer, carried = await self._inline(scope, body) if scope.method in SAFE else (None, {})
            status, headers, data = answer or await self._threaded(scope, body, carried)
        proto.response_bytes(status, headers, data)

    def __rsgi_del__(self, loop: Any) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)

    async def _inline(self, scope: Any, body: bytes) -> tuple[Answer | None, dict[str, Any]]:
        """The answer, run in this thread; None if the request found it would wait, or its
        deferred last step (``inline.defer``) said no (to run again in a thread, its environ
        starting with what the run carried over)."""
        with inlined() as this:
            answer = run(self.wsgi, environ_of(scope, body))
        if this.offloaded:
            return None, this.carried
        if this.after is not None:
            try:
                done = await this.after()
            except Exception:  # noqa: BLE001 - whatever went wrong, the run in a thread answers
                log.exception("sandbox: a deferred step failed; the request runs again in a thread")
                done = False
            if not done:
                return None, this.carried
        return answer, {}

    def _threaded(self, scope: Any, body: bytes, carried: dict[str, Any]) -> "asyncio.Future[Answer]":
        environ = {**environ_of(scope, body), **carried}
        return asyncio.get_running_loop().run_in_executor(self.pool, run, self.wsgi, environ)

    def _refusal(self, scope: Any) -> tuple[int, str] | None:
        """A head over MAX_HEADERS, a declared body over MAX_BODY (never read, whatever the credentials)."""
        if header_bytes(scope) > MAX_HEADERS:
            return 431, f"The request line and headers are larger than the limit of {MAX_HEADERS} bytes."
        length = scope.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            return 413, f"The request body is {int(length)} bytes; the limit is {MAX_BODY}."
        return None

    async def _receive(self, proto: Any) -> tuple[bytes, tuple[int, str] | None]:
        """The whole body, or why it cannot be had (too many arriving, too big, too slow)."""
        if self.receiving >= self.bodies:
            return b"", (429, f"{self.receiving} request bodies are being received already; retry in a second.")
        self.receiving += 1
        try:
            return await asyncio.wait_for(_read(proto), BODY_TIMEOUT)
        except asyncio.TimeoutError:
            return b"", (408, f"The request body did not arrive whole within {BODY_TIMEOUT} seconds.")
        finally:
            self.receiving -= 1


async def _read(proto: Any) -> tuple[bytes, tuple[int, str] | None]:
    parts, size = [], 0
    async for chunk in proto:
        size += len(chunk)
        if size > MAX_BODY:
            return b"", (413, f"The request body is larger than the limit of {MAX_BODY} bytes.")
        parts.append(chunk)
    return b"".join(parts), None


def _has_body(scope: Any) -> bool:
    return scope.headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in scope.headers


def refuser(app: Flask) -> Callable[[str, int, str], Answer]:
    """Answers for what the bridge refuses, in the shape of the API ``path`` belongs to."""
    from . import error_for_status, render_error

    def refuse(path: str, status: int, message: str) -> Answer:
        with app.app_context():
            response = render_error(app, path, error_for_status(status, message))
        return response.status_code, list(response.headers.items()), response.get_data()

    return refuse
