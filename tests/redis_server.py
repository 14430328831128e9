"""A real redis-server for tests: on a free 127.0.0.1 port, in a temporary folder, stopped
by whoever started it. Where redis-server is missing the tests skip, saying so; in CI
(``CI`` set) they fail instead, so CI never skips them."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .processes import free_port, stop_process


MISSING = "redis-server is not installed (Debian: apt-get install redis-server); the Redis tests need a real one"


def redis_server_binary() -> str:
    """The redis-server to start; skips the test (fails it in CI) when there is none."""
    found = shutil.which("redis-server")
    if found is None:
        import pytest  # here only: benchmarks use this module without the test tools installed

        if os.environ.get("CI"):
            pytest.fail(MISSING + " (CI never skips them)")
        pytest.skip(MISSING)
    return found


class RedisServer:
    """One redis-server process; ``stop()`` and ``start()`` again keep its port and folder."""

    def __init__(self, folder: Path, appendonly: bool = False, port: int | None = None) -> None:
        self.folder, self.appendonly = folder, appendonly
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.appendonly else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             *persistence, "--dir", str(self.folder), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.process.stdout.read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer within 10 s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
        self.process = None


@contextmanager
def running_redis(appendonly: bool = False) -> Iterator[RedisServer]:
    """``redis-server --port <free> --bind 127.0.0.1 --save ""`` (``appendonly no``, or ``yes``
    with ``appendfsync always`` for persistence tests) in a temporary folder; stopped after."""
    with tempfile.TemporaryDirectory(prefix="sandbox-redis-") as folder:
        server = RedisServer(Path(folder), appendonly).start()
        try:
            yield server
        finally:
            server.stop()
