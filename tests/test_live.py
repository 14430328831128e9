"""``sandbox serve`` as users run it: a real server on 127.0.0.1, a free port, stopped here."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

from .conftest import AUTH, ROOT

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
                 "--no-validation", "--strict", "--threads", "--access-log"):
        assert flag in result.stdout
        assert f"[{flag}" in readme, f"README synopsis lacks {flag}"
