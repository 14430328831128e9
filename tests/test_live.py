"""``sandbox serve`` as users run it: a real server on 127.0.0.1, a free port, stopped here."""
from __future__ import annotations

import http.client
import json
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sandbox.server import PortInUse, bind

from .conftest import AUTH, ROOT, free_port

READS = [
    "/payments/customers?limit=25",
    "/_sandbox/workspace",
    "/commerce/api/v1/businesses?o=5c0a7e1d-2b3f-4c8a-9d6e-1f2a3b4c5d6e&sort=-name&include=customers,billing_address",
]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _reads(base: str) -> list[bytes]:
    bodies = []
    for path in READS:
        status, body = _get(base + path, AUTH)
        assert status == 200, (path, body)
        bodies.append(body)
    first = json.loads(bodies[0])["data"][0]["id"]
    for path in (f"/payments/customers/{first}", f"/payments/customers/{first}/users?limit=5",
                 f"/payments/customers/{first}/payment-methods"):
        status, body = _get(base + path, AUTH)
        assert status == 200, (path, body)
        bodies.append(body)
    return bodies


def test_two_starts_with_the_same_seed_answer_byte_identical_bodies(live_server):
    first = live_server("--seed", "7")
    a = _reads(first.url)
    first.stop()
    second = live_server("--seed", "7")
    assert _reads(second.url) == a
    other = live_server("--seed", "8")
    assert _reads(other.url)[0] != a[0]


def test_serve_prints_urls_and_credentials_and_answers_errors_in_shape(live_server):
    server = live_server("--token", "my-token", "--client-id", "me", "--client-secret", "s3cret")
    status, body = _get(server.url + "/payments/customers", {"Authorization": "Bearer sandbox-token"})
    assert status == 401
    assert json.loads(body)["error"] == "unauthorized"
    status, body = _get(server.url + "/payments/customers?limit=1", {"Authorization": "Bearer my-token"})
    assert status == 200 and len(json.loads(body)["data"]) == 1
    output = server.stop()
    assert f"{server.url}/payments" in output
    assert "my-token" in output and "me / s3cret" in output


def test_a_taken_port_is_said_at_once_with_exit_code_2(live_server):
    server = live_server()
    result = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--port", str(server.port)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr and "serving on" not in result.stdout
    assert _get(server.url + "/_sandbox/health")[0] == 200


def test_help_lists_every_flag_without_default_noise():
    result = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "(default: None)" not in result.stdout and "(default: True)" not in result.stdout
    readme = (ROOT / "README.md").read_text()
    for flag in ("--host", "--port", "--seed", "--scale", "--token", "--client-id", "--client-secret", "--fixtures",
                 "--no-validation", "--strict", "--threads", "--workers", "--access-log"):
        assert flag in result.stdout
        assert f"[{flag}" in readme, f"README synopsis lacks {flag}"


def test_more_than_one_worker_with_the_in_memory_store_is_refused_in_one_line():
    result = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--port", "0", "--workers", "2",
                             "--store", "memory"],  # whatever SANDBOX_STORE says (the Redis pass sets it)
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--workers 2 needs a shared store" in result.stderr
    assert result.stdout == ""


# Two workers, started through serve() itself on the in-memory store (which the command line
# refuses for more than one): the processes, the sockets and the stop are the server's.
TWO_WORKERS = """
import sys
from sandbox.server import bind, serve
from sandbox.settings import Settings
sys.exit(serve(Settings(), bind("127.0.0.1", int(sys.argv[1]), 2), "http://127.0.0.1:" + sys.argv[1], workers=2))
"""


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (granian forks its workers from more than one thread)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_two_workers_start_answer_and_stop_cleanly():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", TWO_WORKERS, str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        printed = _read_until(process, "bearer token")  # the banner: the first worker has built its app
        deadline = time.monotonic() + 60
        while len(_children(process.pid)) < 2 or _ping(port) != 200:
            assert process.poll() is None and time.monotonic() < deadline, printed
            time.sleep(0.2)
        workers = _children(process.pid)
        assert len(workers) == 2
        assert all(_ping(port) == 200 for _ in range(20))
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(32)]
        try:
            for connection in connections:  # all at once, as a load generator opens them
                connection.connect()
            for connection in connections:  # kept open: each is held by the worker that accepted it
                connection.request("GET", "/_sandbox/health")
                assert connection.getresponse().read()
            held = [len(_accepted(pid, port)) for pid in workers]
        finally:
            for connection in connections:
                connection.close()
        # each worker has its own socket (SO_REUSEPORT): the kernel spreads connections over them,
        # where one shared socket leaves them all to whichever worker wakes first; 32 connections
        # all hashed to one worker: a chance of 2 in 2**32
        assert sum(held) == 32 and all(held), held
        for count in (1, 2):  # and the port is theirs: another sandbox is refused, with or without workers
            with pytest.raises(PortInUse):
                bind("127.0.0.1", port, count)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert (printed + output).count("serving on") == 1  # once, from the first worker
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def _accepted(pid: int, port: int) -> set[int]:
    """Inodes of the established TCP connections to local ``port`` that process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # 01: ESTABLISHED
            established.add(int(fields[9]))
    return inodes & established


def _read_until(process: subprocess.Popen, text: str, seconds: float = 60) -> str:
    """What the process printed, up to and including the first line holding ``text``."""
    printed = ""
    deadline = time.monotonic() + seconds
    while text not in printed:
        assert process.poll() is None and time.monotonic() < deadline, printed
        if select.select([process.stdout], [], [], 0.5)[0]:  # unbuffered, so select sees what is left
            printed += os.read(process.stdout.fileno(), 65536).decode()
    return printed


def _ping(port: int) -> int:
    try:
        return _get(f"http://127.0.0.1:{port}/_sandbox/health")[0]
    except OSError:
        return 0


def test_access_log_prints_one_line_per_request(live_server):
    server = live_server("--access-log", "--threads", "1")
    assert _get(server.url + "/payments/customers?limit=1", AUTH)[0] == 200
    assert _get(server.url + "/nowhere")[0] == 404
    output = server.stop()
    assert "127.0.0.1 GET /payments/customers?limit=1 200" in output
    assert "127.0.0.1 GET /nowhere 404" in output
