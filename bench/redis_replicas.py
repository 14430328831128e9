"""Two sandbox replicas on one Redis: concurrent mixed writes, and a replica's start-up.

1. Starts redis-server (a free loopback port, a temporary folder) and two ``sandbox serve
   --store redis://...`` replicas; 8 clients each make ``--writes`` mixed writes (creates,
   PATCHes of one customer they all patch, archives) spread over both replicas; prints
   writes/s, latency p50/p99, then checks from each replica that every create is readable
   and listed exactly once, that no update was lost, and the exact counts.
2. Reads, one process per store: ``wrk -t1 -c8`` on each API's bench read (the reads
   tests/test_redis_round_trips.py counts), with the in-memory store and with Redis, in
   alternating rounds (``--read-rounds``).
3. Starts a replica at ``--scale`` (1000 by default) against that Redis, which writes the
   seeded data set into it (the first time), stops it, and times a second replica started
   against the Redis that already holds the data until ``/_sandbox/health`` answers.

    python bench/redis_replicas.py [--writes 1000] [--read-rounds 2] [--scale 1000] [--appendonly]
    python bench/redis_replicas.py --writes 0 --scale 0     # the reads alone
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import ROOT, free_port, get_json, running, sandbox_args, stop, wait_until_up, wrk  # noqa: E402
from tests import mixed_writes  # noqa: E402
from tests.redis_server import running_redis  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def writes_over_replicas(url: str, clients: int, writes: int) -> None:
    ports = [free_port(), free_port()]
    servers = [running(sandbox_args(port, "--store", url, "--threads", "8"), port, "/_sandbox/health")
               for port in ports]
    with servers[0], servers[1]:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        status, created = get_json_post(ports[0], "/_sandbox/workspaces")
        token = created["token"]
        before = mixed_writes.listed_ids(urls[0], token)
        outcome = mixed_writes.run(urls, token, before[0], clients=clients, writes=writes)
        print(f"{clients} clients x {writes} mixed writes over 2 replicas: {outcome.writes} writes in "
              f"{outcome.seconds:.1f} s = {outcome.writes / outcome.seconds:,.0f} writes/s; latency p50 "
              f"{statistics.median(outcome.latencies_ms):.1f} ms, p99 {percentile(outcome.latencies_ms, 0.99):.1f} ms")
        print(f"  answers: {dict(outcome.statuses)}")
        began = time.perf_counter()
        found = mixed_writes.problems(urls, token, before, before[0], outcome)
        listed = [len(mixed_writes.listed_ids(u, token)) for u in urls]
        expected = len((set(before) | set(outcome.created)) - outcome.archived)
        print(f"  checked from both replicas in {time.perf_counter() - began:.1f} s: {len(outcome.created)} created, "
              f"{len(outcome.archived)} archived, listed {listed} (expected {expected} each), "
              f"{'nothing lost or doubled' if not found else 'PROBLEMS: ' + '; '.join(found[:5])}")
        for port in ports:
            _, described = get_json(port, "/_sandbox/workspace", token)
            print(f"  replica :{port}: records_written {described['records_written']} "
                  f"(expected {len(outcome.created) + 1})")


READS = {"payments": "/payments/customers?limit=10",
         "billing": "/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses",
         "exemptions": "/exemptions/customers?corporation_id=corp_123&limit=20",
         "commerce": "/commerce/api/v1/businesses?o=5c0a7e1d-2b3f-4c8a-9d6e-1f2a3b4c5d6e"}


def reads_by_store(url: str, rounds: int, seconds: float = 8) -> None:
    for round_ in range(1, rounds + 1):
        for store in ("memory", url):
            port = free_port()
            with running(sandbox_args(port, "--store", store), port, "/_sandbox/health"):
                for api, path in READS.items():
                    result = wrk(f"http://127.0.0.1:{port}{path}", seconds,
                                 headers={"Authorization": "Bearer sandbox-token"})
                    name = "memory" if store == "memory" else "redis"
                    print(f"reads, round {round_}: {name:<6} {api:<9} {result.rate:7,.0f} req/s, p99 "
                          f"{result.p99_ms:.1f} ms ({result.errors} errors)")


def get_json_post(port: int, path: str) -> tuple[int, dict]:
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body="{}", headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def replica_start(url: str, scale: int) -> None:
    port = free_port()
    first_replica = subprocess.Popen(sandbox_args(port, "--store", url, "--scale", str(scale)), cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # Faker may have to make the data first (minutes at scale 1000): a longer wait than running()'s
        first = wait_until_up(port, "/_sandbox/health", first_replica, timeout=1800)
        _, body = get_json(port, "/_sandbox/workspace")
        print(f"scale {scale}: payments holds {body['apis']['payments']['counts']['customers']:,} customers")
    finally:
        stop(first_replica)
    print(f"scale {scale}: the first replica (seeded data written into Redis) answered health in {first:.1f} s")
    for attempt in (1, 2):
        port = free_port()
        began = time.monotonic()
        with running(sandbox_args(port, "--store", url, "--scale", str(scale)), port, "/_sandbox/health"):
            ready = time.monotonic() - began
            _, body = get_json(port, "/payments/customers?limit=1")
        print(f"scale {scale}: a replica on a Redis that holds the data answered health in {ready:.2f} s "
              f"(run {attempt}; first customer {body['data'][0]['id']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--writes", type=int, default=1000, help="writes per client (0: skip)")
    parser.add_argument("--read-rounds", type=int, default=2, help="alternating rounds of reads per store (0: skip)")
    parser.add_argument("--scale", type=int, default=1000, help="scale of the start-up measurement (0: skip)")
    parser.add_argument("--appendonly", action="store_true", help="Redis with appendonly yes, appendfsync always")
    args = parser.parse_args()
    with running_redis(appendonly=args.appendonly) as server:
        if args.writes:
            os.environ["SANDBOX_STORE_NAMESPACE"] = "bench-writes"
            writes_over_replicas(server.url, args.clients, args.writes)
        os.environ["SANDBOX_STORE_NAMESPACE"] = "bench-reads"
        reads_by_store(server.url, args.read_rounds)
        if args.scale:
            os.environ["SANDBOX_STORE_NAMESPACE"] = f"bench-scale-{args.scale}"  # its own default workspace
            replica_start(server.url, args.scale)


if __name__ == "__main__":
    main()
