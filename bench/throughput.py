"""Throughput of the sandbox with request validation on and off.

Starts ``sandbox serve`` (granian, one process, as users run it) on a free 127.0.0.1 port,
loads ``GET /payments/customers?limit=10`` for ``--seconds`` from client threads with
keep-alive connections, and prints req/s, p50 and p99 for both runs. Not part of the tests:
figures depend on the machine; compare the two runs, not absolute numbers.

    python bench/throughput.py [--seconds 10] [--clients 8]
"""
from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port, running, sandbox_args  # noqa: E402

PATH = "/payments/customers?limit=10"
HEADERS = {"Authorization": "Bearer sandbox-token"}


def load(port: int, seconds: float, clients: int) -> tuple[int, list[float], int]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            began = time.perf_counter()
            conn.request("GET", PATH, headers=HEADERS)
            response = conn.getresponse()
            response.read()
            latencies[i].append(time.perf_counter() - began)
            if response.status != 200:
                failures[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [x for per in latencies for x in per]
    return len(flat), flat, sum(failures)


def run(validate: bool, seconds: float, clients: int) -> float:
    port = free_port()
    with running(sandbox_args(port, *([] if validate else ["--no-validation"])), port, "/_sandbox/health"):
        load(port, 1.0, clients)  # warm up
        count, latencies, failures = load(port, seconds, clients)
    rate = count / seconds
    q = statistics.quantiles(latencies, n=100)
    label = "validation on " if validate else "validation off"
    print(f"{label}: {rate:8.0f} req/s   p50 {q[49] * 1000:6.2f} ms   p99 {q[98] * 1000:6.2f} ms"
          f"   ({count} requests, {failures} non-200)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(f"GET {PATH} for {args.seconds:.0f} s, {args.clients} keep-alive clients, sandbox serve on 127.0.0.1")
    on = run(True, args.seconds, args.clients)
    off = run(False, args.seconds, args.clients)
    print(f"validated throughput is {on / off:.0%} of unvalidated")


if __name__ == "__main__":
    main()
