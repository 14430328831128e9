"""What creating many workspaces costs, and whether it slows other workspaces' reads.

Starts ``sandbox serve`` (defaults, or ``--scale N``) on a free 127.0.0.1 port, creates a few
workspaces to read from, measures their reads (``GET /payments/customers?limit=10`` from one
keep-alive client), then creates ``--count`` workspaces in a loop while the reads go on, and
measures the reads again afterwards. Prints the time to create one (p50, p99), the server's
resident memory before and after (and per workspace), and read latency before, during and
after, with the ratios. Not part of the tests: figures depend on the machine.

    python bench/workspaces.py [--count 1000] [--scale 1] [--seconds 3]
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, rss_mb, sandbox_args, stop, wait_until_up  # noqa: E402

READ = "/payments/customers?limit=10"




def call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str] | None = None,
         body: bytes | None = None) -> tuple[int, bytes]:
    """One request; once more on a fresh connection if the server closed an idle keep-alive one."""
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def new_workspace(conn: http.client.HTTPConnection) -> str:
    status, body = call(conn, "POST", "/_sandbox/workspaces", {"Content-Type": "application/json"}, b"{}")
    if status != 201:
        raise SystemExit(f"creating a workspace failed: {status} {body[:300]!r}")
    return json.loads(body)["token"]


class Reader(threading.Thread):
    """Reads round-robin from some workspaces; latencies are filed under the current phase."""

    def __init__(self, port: int, tokens: list[str]) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = [{"Authorization": f"Bearer {t}"} for t in tokens]
        self.phase = "before"
        self.latencies: dict[str, list[float]] = {"before": [], "during": [], "after": []}
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            began = time.perf_counter()
            status, _ = call(self.conn, "GET", READ, self.headers[i % len(self.headers)])
            self.latencies[self.phase].append(time.perf_counter() - began)
            self.failures += status != 200
            i += 1


def ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="workspaces to create")
    parser.add_argument("--scale", type=int, default=1, help="sandbox serve --scale")
    parser.add_argument("--seconds", type=float, default=3.0, help="read time before and after")
    args = parser.parse_args()

    port = free_port()
    extra = ["--scale", str(args.scale)] if args.scale != 1 else []
    began = time.perf_counter()
    proc = subprocess.Popen(sandbox_args(port, *extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_until_up(port, "/_sandbox/health", proc, timeout=600)
    print(f"sandbox serve --scale {args.scale}: up in {time.perf_counter() - began:.1f} s, "
          f"{rss_mb(proc.pid):.0f} MB resident")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        readers = [new_workspace(conn) for _ in range(3)]
        reader = Reader(port, readers)
        reader.start()
        time.sleep(args.seconds)
        before_mb = rss_mb(proc.pid)
        reader.phase = "during"
        times = []
        for _ in range(args.count):
            t = time.perf_counter()
            new_workspace(conn)
            times.append(time.perf_counter() - t)
        after_mb = rss_mb(proc.pid)
        reader.phase = "after"
        time.sleep(args.seconds)
        reader.stop.set()
        reader.join()
    finally:
        stop(proc)

    print(f"created {args.count} workspaces in {sum(times):.1f} s: "
          f"p50 {ms(times, 50):.2f} ms, p99 {ms(times, 99):.2f} ms per workspace")
    print(f"memory: {before_mb:.0f} MB -> {after_mb:.0f} MB resident "
          f"(+{(after_mb - before_mb) * 1024 / max(args.count, 1):.1f} KB per workspace)")
    base = reader.latencies["before"]
    for phase in ("before", "during", "after"):
        values = reader.latencies[phase]
        print(f"other workspaces' reads {phase:>6}: {len(values):5d} reads, p50 {ms(values, 50):.2f} ms, "
              f"p99 {ms(values, 99):.2f} ms, p50 x{ms(values, 50) / ms(base, 50):.2f}")
    print(f"failed reads: {reader.failures}")


if __name__ == "__main__":
    main()
