"""The kit's one way to talk to a target: timeouts, a rate cap, ``Retry-After`` and read-only.

Every request the kit makes (schemathesis cases included) goes through ``Client``, a
``requests.Session``. The in-process sandbox is served the same way, over HTTP on a free
127.0.0.1 port in a thread, so what the kit does to it is exactly what it does to a target.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_RETRY_WAIT = 60.0


class ReadOnlyViolation(RuntimeError):
    """The kit tried to write in a ``--read-only`` run: a kit bug, never sent."""


class Client(requests.Session):
    def __init__(self, timeout: float = 10.0, rate: float | None = None, read_only: bool = False,
                 retries: int = 3) -> None:
        super().__init__()
        self.timeout = timeout
        self.interval = 1.0 / rate if rate else 0.0
        self.read_only = read_only
        self.retries = retries
        self.sent = 0
        self._next = 0.0
        self._lock = threading.Lock()

    def _pace(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            time.sleep(wait)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.read_only and method.upper() not in SAFE_METHODS:
            raise ReadOnlyViolation(f"--read-only: refused to send {method} {url}")
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.retries + 1):
            self._pace()
            self.sent += 1
            response = super().request(method, url, *args, **kwargs)
            if response.status_code != 429 or attempt == self.retries:
                return response
            time.sleep(retry_after(response.headers.get("Retry-After")))
        return response


def retry_after(value: str | None) -> float:
    """Seconds to wait for a 429's ``Retry-After`` (seconds form; 1 s when absent or a date)."""
    try:
        return min(max(float(value or 1), 0.0), MAX_RETRY_WAIT)
    except ValueError:
        return 1.0


class LocalServer:
    """A WSGI app served on a free 127.0.0.1 port in a daemon thread; ``stop()`` ends it."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
