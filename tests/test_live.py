"""``sandbox serve`` as users run it: a real server on 127.0.0.1, a free port, stopped here."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from .conftest import AUTH

READS = [
    "/payments/customers?limit=25",
    "/_sandbox/workspace",
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

