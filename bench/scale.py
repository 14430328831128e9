"""How the sandbox behaves as its data grows: ``sandbox serve --scale N`` for several N.

For each scale: seconds from launch to the first health answer, twice: the first start,
with an empty data cache (``SANDBOX_CACHE_DIR`` a new temporary folder: the data is made,
as on a CI machine), then a start that reads back what the first one cached. A start makes
no data: each API's is made (or read from the cache) by the first read of that API, so next
to each start are the seconds of one first read per API, in turn, right after health (with
the first start, each API's and the total from launch to the last of them answered); resident
memory of the server's processes, and the median time of reads and control calls whose cost must not
grow with the data: the first and the last page of payments customers, a narrow
``created_at`` window at each end of the range, the workspace summary, creating a
workspace and resetting one. Payments holds 50 customers per unit of scale.

With ``--store redis`` the same figures for the Redis store (a redis-server of the bench's
own, empty for each row), one row per ``--workers`` count: the first start writes the
seeded data into Redis; the second is a replica started against a Redis that already holds it.

    python bench/scale.py [--scales 1,100,1000] [--repeat 15] [--store redis --workers 1,2,4]
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contextlib import ExitStack  # noqa: E402

from common import TOKEN, free_port, local_redis, rss_mb, sandbox_args, stop, wait_until_up  # noqa: E402

from fixtures.billing import DOCUMENTED_CUSTOMER  # noqa: E402
from fixtures.commerce import FIRST_ORGANIZATION  # noqa: E402
from fixtures.exemptions import DOCUMENTED_CORPORATION  # noqa: E402

FIRST_READS = {  # one read of each API: the first of them makes (or reads back) that API's data
    "payments": "/payments/customers?limit=10",
    "billing": f"/billing/v1/customers/{DOCUMENTED_CUSTOMER}/businesses?limit=10",
    "exemptions": f"/exemptions/customers?corporation_id={DOCUMENTED_CORPORATION}&limit=10",
    "commerce": f"/commerce/api/v1/businesses?o={FIRST_ORGANIZATION}",
}


def call(port: int, method: str, path: str, token: str = TOKEN, body: dict | None = None) -> tuple[float, int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body), "application/json"
    began = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed, response.status, (json.loads(raw) if raw else {})


def timed(port: int, repeat: int, method: str, path: str, token: str = TOKEN, body: dict | None = None) -> float:
    """Median milliseconds of ``repeat`` calls (each must succeed)."""
    samples = []
    for _ in range(repeat):
        elapsed, status, answer = call(port, method, path, token, body)
        if status >= 400:
            raise SystemExit(f"{method} {path} answered {status}: {answer}")
        samples.append(elapsed * 1000)
    return statistics.median(samples)




def last_cursor(port: int) -> str:
    """The ``after`` cursor of the last page of payments customers (a walk with limit=100)."""
    path, previous = "/payments/customers?limit=100", None
    while True:
        _, status, page = call(port, "GET", path)
        if status != 200:
            raise SystemExit(f"walk stopped: {status} {page}")
        if not page["page_info"]["has_next_page"]:
            if previous is None:  # one page of 100 holds everything: start after the first ten
                return call(port, "GET", "/payments/customers?limit=10")[2]["page_info"]["end_cursor"]
            return previous
        previous = page["page_info"]["end_cursor"]
        path = f"/payments/customers?limit=100&after={quote(previous)}"


def first_reads(port: int) -> dict[str, float]:
    """Seconds to the answer of one read of each API (``FIRST_READS``), in turn."""
    seconds = {}
    for api, path in FIRST_READS.items():
        elapsed, status, answer = call(port, "GET", path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {answer}")
        seconds[api] = elapsed
    return seconds


def launch(scale: int, cache: str, serve: tuple[str, ...] = ()) -> tuple[subprocess.Popen, int, float]:
    """``sandbox serve --scale N [serve...]`` with its data cache in ``cache``: (process, port, seconds to health)."""
    port = free_port()
    launched = time.monotonic()
    proc = subprocess.Popen(sandbox_args(port, "--scale", str(scale), *serve), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "SANDBOX_CACHE_DIR": cache})
    try:
        wait_until_up(port, "/_sandbox/health", proc, timeout=1800)
    except BaseException:
        stop(proc)
        raise
    return proc, port, time.monotonic() - launched


def measure(scale: int, repeat: int, store: str | None = None, workers: int = 1) -> dict[str, float]:
    with ExitStack() as stack:
        cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="sandbox-cache-"))
        serve: tuple[str, ...] = ()
        if store == "redis":
            serve = ("--store", stack.enter_context(local_redis()), "--workers", str(workers))
        proc, port, uncached = launch(scale, cache, serve)  # an empty cache (and Redis): the data is made
        try:
            made = first_reads(port)
        finally:
            stop(proc)
        proc, port, cached = launch(scale, cache, serve)  # the cache (or Redis) holds what the first start made
        try:
            read_back = first_reads(port)
            return {"first start s": uncached, **{f"+{api} s": made[api] for api in FIRST_READS},
                    "all read s": uncached + sum(made.values()), "start-up s": cached,
                    "+reads s": sum(read_back.values()), **served(proc, port, repeat)}
        finally:
            stop(proc)


def served(proc: subprocess.Popen, port: int, repeat: int) -> dict[str, float]:
    """Memory and the median times of the reads and control calls of a running server."""
    figures = {"RSS MB": rss_mb(proc.pid)}
    cursor = last_cursor(port)
    figures["first page"] = timed(port, repeat, "GET", "/payments/customers?limit=10")
    figures["last page"] = timed(port, repeat, "GET", f"/payments/customers?limit=10&after={quote(cursor)}")
    figures["early window"] = timed(port, repeat, "GET", "/payments/customers?limit=10"
                                    "&created_at_end=2023-01-03T00:00:00Z")
    figures["late window"] = timed(port, repeat, "GET", "/payments/customers?limit=10"
                                   "&created_at_start=2025-12-29T00:00:00Z")
    figures["summary"] = timed(port, repeat, "GET", "/_sandbox/workspace")
    creates = [call(port, "POST", "/_sandbox/workspaces", body={}) for _ in range(max(3, repeat // 3))]
    figures["create ws"] = statistics.median(c[0] for c in creates) * 1000
    figures["reset ws"] = timed(port, max(3, repeat // 3), "POST", "/_sandbox/reset", token=creates[0][2]["token"])
    figures["RSS after MB"] = rss_mb(proc.pid)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,100,1000", help="comma-separated --scale values")
    parser.add_argument("--repeat", type=int, default=15, help="calls per timed figure (median)")
    parser.add_argument("--store", choices=["redis"], default=None,
                        help="measure the Redis store (a redis-server of the bench's own) instead of memory")
    parser.add_argument("--workers", default="1", help="with --store redis: comma-separated worker counts, a row each")
    args = parser.parse_args()
    rows = [int(n) for n in args.workers.split(",")] if args.store else [1]
    columns = ["first start s", *(f"+{api} s" for api in FIRST_READS), "all read s", "start-up s", "+reads s",
               "RSS MB", "first page", "last page", "early window", "late window", "summary", "create ws", "reset ws",
               "RSS after MB"]
    print("times in ms (medians) unless marked; 'first start' (to health) is with an empty data cache, then each"
          " '+<api>' is that API's first read (its data made), 'all read' from launch to the last of them;"
          " 'start-up' reads the cache back, '+reads' the four first reads then; 'RSS after' follows the workspace"
          " creates")
    print(f"store: {args.store or 'memory'}")
    print(f"{'scale':>6} {'workers':>7} " + " ".join(f"{c:>13}" for c in columns), flush=True)
    for scale in (int(s) for s in args.scales.split(",")):
        for workers in rows:
            figures = measure(scale, args.repeat, args.store, workers)
            print(f"{scale:>6} {workers:>7} " + " ".join(f"{figures[c]:>13.{2 if c.endswith(' s') else 1}f}"
                                                          for c in columns), flush=True)


if __name__ == "__main__":
    main()
