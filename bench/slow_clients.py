"""How long ``/_sandbox/health`` takes while slow clients hold connections open.

Starts ``sandbox serve`` on a free 127.0.0.1 port, opens ``--clients`` connections that
each send half a request (half of them stop inside the headers, half after the headers
with only part of a declared body) and keep them open, then times ``--probes`` health
requests and prints the median and the worst. Not part of the tests (figures depend on
the machine); the hostile-input tests check the same situation with a generous timeout.

    python bench/slow_clients.py [--clients 64] [--probes 20]
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port, running, sandbox_args  # noqa: E402


def slow_clients(port: int, count: int) -> list[socket.socket]:
    """Connections that each sent an unfinished request and then went quiet."""
    held = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            sock.sendall(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            sock.sendall(b"POST /_sandbox/workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"name\": ")
        held.append(sock)
    return held


def health_seconds(port: int) -> float:
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/_sandbox/health")
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"health answered {response.status}")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    with running(sandbox_args(port), port, "/_sandbox/health"):
        held = slow_clients(port, args.clients)
        times = [health_seconds(port) for _ in range(args.probes)]
        print(f"{args.clients} slow clients held open (half in their headers, half in their bodies): "
              f"/_sandbox/health median {statistics.median(times) * 1000:.1f} ms, worst "
              f"{max(times) * 1000:.1f} ms over {args.probes} requests")
        for sock in held:
            sock.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
