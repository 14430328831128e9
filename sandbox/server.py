"""Serve the app under granian (a Rust HTTP server), in one or more worker processes.

The process that parses the command line binds the port (a taken port is said at once, before
any seeding) and hands that socket to granian; granian forks the workers, and each builds the
app from the settings the parent parsed (``HANDOVER_ENV``, JSON), so no app exists at import.

granian parses HTTP in Rust, off the GIL: headers sent slowly never reach Python, and a
connection that started a request head and went silent for ``IDLE_TIMEOUT`` is closed. Each
worker runs the app through ``bridge.Bridge`` (granian's RSGI interface): reads in its event
loop's thread, writes and waiting requests in a pool of ``--threads``, bodies received
asynchronously. What granian refuses before the app sees it (heads beyond its read buffer,
malformed HTTP) it answers itself, with an empty body (see ``README.md``, Limits).
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import tempfile
from dataclasses import asdict
from datetime import date
from functools import partial
from typing import Any, Callable, Iterable

from flask import Flask
from granian.constants import Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import MPServer

from .bridge import MAX_HEADERS, Bridge, refuser
from .settings import Settings

READ_BUFFER = 4 * MAX_HEADERS  # granian's per-connection buffer: headers past it get granian's own bare 431
IDLE_TIMEOUT = 30            # seconds a connection may stay silent (no complete request head) before it is closed
BACKLOG = 1024
STOP_TIMEOUT = 20            # seconds a worker may take to finish its requests when stopped, then it is killed
THREADS = 64  # per worker, started on demand: writes, and requests that wait (bridge.py)
HANDOVER_ENV = "SANDBOX_SERVE"  # JSON from the parent to its workers: settings, base URL, workers, access log
EXIT_CANNOT_START = 2


class PortInUse(OSError):
    """The address is taken (or cannot be bound): said at once, before the app is built."""


def bind(host: str, port: int, count: int = 1) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port``, one per worker; PortInUse if another process
    holds the port.

    One socket is bound without SO_REUSEPORT, so no other process can share the port. Several
    are bound with it, so the kernel spreads connections over the workers: a socket shared by
    every worker would not (the first worker awake takes every connection waiting, all 8 of a
    benchmark's, and the others idle). The port is first bound once without SO_REUSEPORT, so a
    second sandbox (or any server) already on it is said at once; a process of the same user
    binding it with SO_REUSEPORT later could still join, which no sandbox does."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        first = socket.create_server((host, port), family=family, backlog=BACKLOG)
        if count > 1:
            port = first.getsockname()[1]  # port 0: the one the kernel chose, for every worker
            first.close()
            socks = [socket.create_server((host, port), family=family, backlog=BACKLOG, reuse_port=True)
                     for _ in range(count)]
        else:
            socks = [first]
    except OSError as exc:
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    for sock in socks:  # accepted connections inherit it: without it, Nagle's algorithm holds small answers ~40 ms
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return socks


def handover(settings: Settings, base: str, workers: int, threads: int, access_log: bool, banner: str = "") -> str:
    """What every worker needs to build the same app, as JSON for ``HANDOVER_ENV``; ``banner``: a
    file the first worker ready removes, and so knows to print the banner (before it serves)."""
    return json.dumps({"settings": {**asdict(settings), "today": settings.today.isoformat()},
                       "base": base, "workers": workers, "threads": threads, "access_log": access_log,
                       "banner": banner})


def _first_ready(flag: str) -> bool:
    """True in exactly one worker: the first to remove ``flag`` (atomic, whatever the start method)."""
    try:
        os.unlink(flag)
        return True
    except FileNotFoundError:
        return False


def taken_over(text: str) -> tuple[Settings, dict[str, Any]]:
    data = json.loads(text)
    fields = data.pop("settings")
    return Settings(**{**fields, "today": date.fromisoformat(fields["today"])}), data


def _access_log(app: Callable) -> Callable:
    """``ADDRESS METHOD /path?query STATUS`` for every request, on stdout."""
    log = logging.getLogger("sandbox.access")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(logging.StreamHandler(sys.stdout))

    def logged(environ: dict[str, Any], start_response: Callable) -> Any:
        def start(status: str, headers: list, exc_info: Any = None) -> Any:
            query = environ.get("QUERY_STRING")
            target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            log.info("%s %s %s %s", environ.get("REMOTE_ADDR", "-"), environ["REQUEST_METHOD"], target, status[:3])
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


def banner(settings: Settings, base: str, apis: Iterable[Any], workers: int) -> str:
    processes = "one process" if workers == 1 else f"{workers} processes"
    lines = [f"sandbox: serving on {base} (seed {settings.seed}, scale {settings.scale}, {processes})"]
    lines += [f"  {api.name:<11} {base}{api.prefix}" for api in apis]
    lines += [f"  bearer token   {settings.token}",
              f"  OAuth2 client  {settings.client_id} / {settings.client_secret}  (POST {base}/payments/oauth/token)"]
    return "\n".join(lines)


def load_app(worker: int) -> Callable:
    """A worker's WSGI callable, built from the settings the parent handed over (``HANDOVER_ENV``).

    A spec, scenario file or setting that cannot be served ends the worker with exit code 2 and a
    one-line reason; the parent then exits with the same code."""
    from . import create_app
    from .engine.errors import ApiError
    from .engine.spec import SpecError

    # forked with the parent's handlers, which only flag the parent: until granian sets the worker's
    # own (once the app is built), a stop must end the worker, not be lost while it seeds
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    settings, serving = taken_over(os.environ[HANDOVER_ENV])
    try:
        app = create_app(settings)
    except (ApiError, SpecError, OSError, ValueError) as error:  # ValueError: a malformed --store URL
        print(f"sandbox: cannot start: {getattr(error, 'message', error)}", file=sys.stderr, flush=True)
        sys.exit(EXIT_CANNOT_START)
    if _first_ready(serving["banner"]):  # the first worker ready, so the banner is out before any answer
        print(banner(settings, serving["base"], app.extensions["sandbox"]["apis"], serving["workers"]), flush=True)
    wsgi = _access_log(app) if serving["access_log"] else app
    return Bridge(wsgi, refuser(app), threads=serving["threads"])


class _Server(MPServer):
    """granian's process server, each worker listening on its own of the sockets ``serve`` was given.

    granian 2.8.7 binds its own socket per worker with SO_REUSEPORT on Linux, or shares one; giving
    it ours (the path it takes for Unix sockets) keeps the bind made before the workers start
    (``bind``). The methods below override internals of that pinned version: the socket each
    worker gets, the loader each worker calls (with its index), the exit code."""

    def __init__(self, socks: list[socket.socket], **options: Any) -> None:
        self._given = socks
        super().__init__(target="sandbox.server:load_app", **options)

    def _init_shared_socket(self) -> None:
        for sock in self._given:
            sock.set_inheritable(True)
        self._ssp = None
        self._use(0)

    def _use(self, idx: int) -> None:
        """The socket the next worker spawned (worker ``idx``, also when respawned) listens on."""
        from granian._granian import SocketHolder

        sock = self._given[idx % len(self._given)]
        self._shd, self._sfd, self._sso = SocketHolder(sock.fileno(), False, BACKLOG), sock.fileno(), sock

    def _drop_shared_socket(self) -> None:
        for sock in self._given:
            sock.close()
        self._sso = None

    def _spawn_worker(self, idx, target, callback_loader):
        self._use(idx)
        return super()._spawn_worker(idx, target, partial(load_app, idx))

    def shutdown(self, exit_code: int = 0) -> None:
        if any(worker.inner.exitcode == EXIT_CANNOT_START for worker in self.wrks):
            exit_code = EXIT_CANNOT_START  # granian would say 1: a worker that could not build the app says 2
        super().shutdown(exit_code)


def serve(settings: Settings, socks: list[socket.socket], base: str, threads: int = THREADS, workers: int = 1,
          access_log: bool = False) -> int:
    """Serve until the process is stopped; the exit code (2 when a worker could not build the app)."""
    flag, path = tempfile.mkstemp(prefix="sandbox-banner-")
    os.close(flag)
    os.environ[HANDOVER_ENV] = handover(settings, base, workers, threads, access_log, banner=path)
    server = _Server(
        socks,
        interface=Interfaces.RSGI,
        loop=Loops.uvloop,  # libuv's loop: cheaper hand-overs from granian's threads and socket reads than asyncio's
        workers=workers,
        address=socks[0].getsockname()[0],
        port=socks[0].getsockname()[1],
        backlog=BACKLOG,
        workers_kill_timeout=STOP_TIMEOUT,
        http1_settings=HTTP1Settings(header_read_timeout=IDLE_TIMEOUT * 1000, max_buffer_size=READ_BUFFER),
        log_level=LogLevels.error,
        websockets=False,
    )
    try:
        server.serve()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    finally:
        _first_ready(path)  # removes the flag if no worker got as far as the banner
    return 0
