"""Concurrent clients writing through several sandbox replicas that share one Redis, and the
check that nothing was lost or doubled (used by tests/test_redis_replicas.py and
bench/redis_replicas.py).

Each client sends its requests to the replicas in turn: a create (payments customer), a
PATCH of one field of a customer every client patches (each client its own field, so the
last value each client wrote must be there: a lost update would put back an older one),
and an archive of a customer it created. Afterwards every replica must list every created,
unarchived customer exactly once, in a list of exactly the expected size.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

FIELDS = ("city", "country", "legal_name", "name", "postal_code", "state", "street_address", "sub_premise")


class Http:
    """One keep-alive connection per replica, for one client thread."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.token = token
        self.connections = [http.client.HTTPConnection(urlsplit(u).hostname, urlsplit(u).port, timeout=30)
                            for u in urls]

    def call(self, replica: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = self.connections[replica % len(self.connections)]
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    archived: set[str] = field(default_factory=set)
    last: dict[str, str] = field(default_factory=dict)     # field of the shared customer -> last value set
    statuses: Counter = field(default_factory=Counter)     # "POST 201" -> how many
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def writes(self) -> int:
        return sum(self.statuses.values())


def run(urls: list[str], token: str, shared_id: str, clients: int = 8, writes: int = 30) -> Outcome:
    """``clients`` threads each making ``writes`` mixed writes, spread over ``urls``."""
    if clients > len(FIELDS):
        raise ValueError(f"at most {len(FIELDS)} clients (one field of the shared customer each)")
    outcome = Outcome()
    lock = threading.Lock()

    def client(k: int) -> None:
        http_ = Http(urls, token)
        mine: list[str] = []
        try:
            for i in range(writes):
                kind, replica = i % 3, k + i
                began = time.perf_counter()
                if kind == 0 or not mine:
                    status, body = http_.call(replica, "POST", "/payments/customers", {"name": f"client {k} #{i}"})
                    request = f"POST {status}"
                    if status == 201:
                        mine.append(body["id"])
                        with lock:
                            outcome.created.append(body["id"])
                elif kind == 1:
                    value = f"client {k} write {i}"
                    status, _ = http_.call(replica, "PATCH", f"/payments/customers/{shared_id}", {FIELDS[k]: value})
                    request = f"PATCH {status}"
                    if status == 200:
                        with lock:
                            outcome.last[FIELDS[k]] = value
                else:
                    victim = mine.pop()
                    status, _ = http_.call(replica, "DELETE", f"/payments/customers/{victim}")
                    request = f"DELETE {status}"
                    if status == 200:
                        with lock:
                            outcome.archived.add(victim)
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    outcome.statuses[request] += 1
                    outcome.latencies_ms.append(elapsed)
        finally:
            http_.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - began
    return outcome


def listed_ids(url: str, token: str) -> list[str]:
    """Every customer id the replica lists, page by page (keyset cursors)."""
    http_ = Http([url], token)
    ids: list[str] = []
    after = None
    try:
        while True:
            path = "/payments/customers?limit=100" + (f"&after={after}" if after else "")
            status, body = http_.call(0, "GET", path)
            assert status == 200, body
            ids += [c["id"] for c in body["data"]]
            if not body["page_info"]["has_next_page"]:
                return ids
            after = body["page_info"]["end_cursor"]
    finally:
        http_.close()


def problems(urls: list[str], token: str, before: list[str], shared_id: str, outcome: Outcome) -> list[str]:
    """What every replica shows that it should not (empty: nothing lost, nothing doubled).
    ``before`` is the list of customer ids before the writes."""
    found = []
    expected = (set(before) | set(outcome.created)) - outcome.archived
    for url in urls:
        ids = listed_ids(url, token)
        if len(ids) != len(set(ids)):
            found.append(f"{url}: {len(ids) - len(set(ids))} customers listed twice")
        if set(ids) != expected:
            found.append(f"{url}: {len(expected - set(ids))} missing, {len(set(ids) - expected)} unexpected")
        http_ = Http([url], token)
        try:
            status, shared = http_.call(0, "GET", f"/payments/customers/{shared_id}")
            lost = {f: v for f, v in outcome.last.items() if shared.get(f) != v}
            if lost:
                found.append(f"{url}: lost updates of the shared customer: {lost}")
            for record_id in outcome.created:
                status, body = http_.call(0, "GET", f"/payments/customers/{record_id}")
                archived = record_id in outcome.archived
                if status != 200 or (body["status"] == "archived") != archived:
                    found.append(f"{url}: created customer {record_id} answers {status} {body}")
        finally:
            http_.close()
    return found
