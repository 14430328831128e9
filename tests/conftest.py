"""Shared fixtures: an in-process sandbox and a live one on a free 127.0.0.1 port."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox import create_app
from sandbox.engine import workspaces
from sandbox.settings import Settings

from .processes import free_port, stop_process  # noqa: F401 (free_port: the tests import it from here)
from .redis_server import running_redis

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "sandbox-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
_namespaces = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store", choices=("memory", "redis"), default=os.environ.get("SANDBOX_TEST_STORE", "memory"),
                     help="run every sandbox the tests start on this store (redis: one redis-server for the "
                          "session, a key namespace per sandbox; env SANDBOX_TEST_STORE)")


# Tests of what only the in-memory store does, skipped with --store redis (node id -> why).
MEMORY_ONLY = {
    "tests/test_datacache.py::test_a_cached_data_set_gives_the_bytes_a_fresh_build_gives":
        "with Redis a seeded data set is read from Redis once written there, not from the disk cache",
    "tests/test_workspaces.py::test_distinct_data_sets_are_bounded_and_unused_ones_are_dropped":
        "with Redis seeded data sets live in Redis, shared; each process keeps copies of the collections it reads, "
        "bounded by their size (redis_store), not by max_datasets",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--store") != "redis":
        return
    for item in items:
        why = MEMORY_ONLY.get(item.nodeid)
        if why is not None:
            item.add_marker(pytest.mark.skip(reason=f"memory store only: {why}"))


def namespace() -> str:
    """A Redis key namespace no other sandbox of this test session uses."""
    return f"test{os.getpid()}-{next(_namespaces)}"


@pytest.fixture(scope="session", autouse=True)
def store(request: pytest.FixtureRequest):
    """With ``--store redis``, every sandbox of the session (in-process or ``sandbox serve``)
    keeps its state in one session redis-server, each under a namespace of its own."""
    if request.config.getoption("--store") != "redis":
        yield "memory"
        return
    with running_redis() as server:
        opened = workspaces.open_registry

        def on_redis(apis, settings):
            if settings.store == "memory":
                settings.store, settings.store_namespace = server.url, namespace()
            return opened(apis, settings)

        patch = pytest.MonkeyPatch()
        patch.setattr(workspaces, "open_registry", on_redis)
        patch.setenv("SANDBOX_STORE", server.url)
        try:
            yield server.url
        finally:
            patch.undo()


@pytest.fixture(scope="session")
def app():
    """One sandbox for read-only tests (seed 42, strict: responses checked against the spec)."""
    return create_app(Settings(seed=42, strict=True))


@pytest.fixture
def fresh_app():
    """A sandbox of its own, for tests that write."""
    return create_app(Settings(seed=42, strict=True))


@pytest.fixture
def client(fresh_app):
    return fresh_app.test_client()


@pytest.fixture(scope="session")
def read_client(app):
    return app.test_client()


class LiveServer:
    """``sandbox serve`` in a subprocess on 127.0.0.1, stopped by the test that started it."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "SANDBOX_STORE_NAMESPACE": namespace(), **(env or {})},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox serve exited: {self.process.stdout.read()}")
            try:
                urllib.request.urlopen(f"{self.url}/_sandbox/health", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("sandbox serve did not answer within 60 s")

    def stop(self) -> str:
        stop_process(self.process, timeout=15)
        return self.process.stdout.read() if self.process.stdout else ""


@pytest.fixture
def live_server():
    servers: list[LiveServer] = []

    def start(*args: str, env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(*args, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
