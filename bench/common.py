"""What every benchmark needs: free loopback ports, servers started and stopped, wrk runs.

Servers are started as subprocesses on 127.0.0.1 and stopped by the benchmark that started
them. Tools that are missing (``wrk`` from Debian, Prism from npm) are installed when asked
for, into the machine (apt) or a folder of the checkout (``.cache/``), never fetched at run
time by the code under test.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
TOKEN = "sandbox-token"


sys.path.insert(0, str(ROOT))
from tests.processes import free_port, stop_process  # noqa: E402,F401 (free_port: the benches import it from here)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for each in [pid, *map(int, children)]:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def get_json(port: int, path: str, token: str | None = TOKEN) -> tuple[int, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, body.decode("utf-8", "replace")


def wait_until_up(port: int, path: str, proc: subprocess.Popen, timeout: float = 120.0) -> float:
    """Seconds until ``path`` answers (any HTTP status); raises if the process dies first."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return time.monotonic() - began
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit(f"server on port {port} did not answer {path} within {timeout:.0f} s")


@contextmanager
def running(args: list[str], port: int, ready_path: str, cwd: Path = ROOT) -> Iterator[subprocess.Popen]:
    """Start ``args`` (a server listening on ``port``), wait for ``ready_path``, stop it after."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    try:
        wait_until_up(port, ready_path, proc)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Terminate a server this benchmark started (kill it if it does not stop in time)."""
    stop_process(proc, timeout)


def sandbox_args(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port", str(port), *extra]


def ensure_debian(binary: str, package: str) -> str:
    """``binary`` on the PATH; Debian's ``package`` installed first when it is missing (needs root)."""
    found = shutil.which(binary)
    if found:
        return found
    print(f"{binary} is missing: installing Debian's {package} package", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which(binary)
    if not found:
        raise SystemExit(f"{binary} could not be installed (apt-get install {package})")
    return found


def ensure_wrk() -> str:
    return ensure_debian("wrk", "wrk")


@contextmanager
def local_redis() -> Iterator[str]:
    """A redis-server of the bench's own on a free loopback port (installed when missing); its URL."""
    ensure_debian("redis-server", "redis-server")
    from tests.redis_server import running_redis  # the tests' starter: one way to run a throwaway Redis

    with running_redis() as server:
        yield server.url


@dataclass
class WrkResult:
    rate: float      # requests per second
    p99_ms: float
    requests: int
    errors: int      # non-2xx/3xx responses plus socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int = 8, threads: int = 1,
        headers: dict[str, str] | None = None) -> WrkResult:
    """One wrk run (``-t threads -c connections``) against ``url``, with its latency percentiles."""
    args = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args + [url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return WrkResult(rate, float(p99.group(1)) * _UNITS[p99.group(2)], total, errors)
