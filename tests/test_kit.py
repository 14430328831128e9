"""The contract kit: it reports each broken implementation by the right check, nothing against the
sandbox, only decision warnings against a correct-but-different implementation; and the CLI."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contract_tests.cli import main
from contract_tests.http import Client, LocalServer
from contract_tests.report import CONTRACT, DECISION, Report
from contract_tests.run import Options, run
from contract_tests.spec import ApiSpec, available_apis
from tests.broken import CATALOGUE, DIFFERENT, Rewrite

EXAMPLES = 5


def kit(app, api: str, middleware: type[Rewrite] = Rewrite, **options) -> Report:
    """The kit against ``middleware(app)`` over HTTP, in a fresh workspace, judged as a foreign target."""
    workspace = app.extensions["sandbox"]["registry"].create()
    server = LocalServer(middleware(app, workspace.token))
    spec = ApiSpec.load(api)
    try:
        return run(spec, server.url + spec.server_path, {"Authorization": f"Bearer {workspace.token}"},
                   Client(), Options(**{"max_examples": EXAMPLES, **options}), "a test target")
    finally:
        server.stop()


def contract_checks(report: Report) -> set[str]:
    return {f.check for f in report.findings if f.verdict == CONTRACT}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_each_broken_implementation_is_reported_by_its_check(app, name):
    broken = CATALOGUE[name]
    report = kit(app, broken.api, broken.middleware)
    assert broken.checks <= contract_checks(report), report.text()
    assert report.exit_code == 1
    reported = [f for f in report.findings if f.check in broken.checks]
    assert all(f.curl.startswith("curl ") for f in reported if f.curl)


@pytest.mark.parametrize("api", available_apis())
def test_the_sandbox_itself_fails_nothing(app, api):
    report = kit(app, api, strict=True)
    assert report.findings == [], report.text()
    assert sum(report.passed.values()) > 50


def test_correct_but_different_gets_decision_warnings_only(app):
    report = kit(app, DIFFERENT.api, DIFFERENT.middleware)
    assert contract_checks(report) == set(), report.text()
    assert {f.verdict for f in report.findings} == {DECISION}
    assert report.exit_code == 0 and report.warnings
    report.strict = True  # --strict: the same findings fail the run
    assert report.exit_code == 1


def test_same_seed_same_verdict(app):
    broken = CATALOGUE["invalid input accepted"]
    first, second = (kit(app, broken.api, broken.middleware, seed=7) for _ in range(2))
    assert [f.key for f in first.findings] == [f.key for f in second.findings]
    assert first.passed == second.passed


class Recorder(Rewrite):
    methods: list[str] = []

    def request(self, environ):
        Recorder.methods.append(environ["REQUEST_METHOD"])


def test_read_only_sends_no_writes(app):
    Recorder.methods = []
    report = kit(app, "payments", Recorder, read_only=True)
    assert report.findings == []
    assert Recorder.methods and set(Recorder.methods) == {"GET"}
    assert not any(check.startswith(("create", "update", "archive")) for _, check in report.passed)


class TooManyRequests(Rewrite):
    seen = 0

    def __call__(self, environ, start_response):
        TooManyRequests.seen += 1
        if TooManyRequests.seen == 1:
            start_response("429 Too Many Requests", [("Retry-After", "0"), ("Content-Length", "0")])
            return [b""]
        return super().__call__(environ, start_response)


def test_client_waits_and_retries_on_429(app):
    server = LocalServer(TooManyRequests(app))
    try:
        response = Client(rate=50).get(f"{server.url}/_sandbox/health")
    finally:
        server.stop()
    assert response.status_code == 200 and TooManyRequests.seen == 2


def test_cli_in_process_writes_junit_and_summary(tmp_path, capsys):
    junit, summary = tmp_path / "out.xml", tmp_path / "summary.md"
    assert main(["--api", "billing", "--junit", str(junit), "--summary", str(summary), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("contract-test billing against the sandbox, in-process: PASSED")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("tests")) > 10 and suite.get("failures") == "0"
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {"pagination", "filters", "auth_required", "response_schema_conformance"} <= names
    assert summary.read_text().startswith("## contract-test `billing`: PASSED")


@pytest.mark.parametrize("argv, reason", [
    (["--api", "nope"], "argument --api: invalid choice"),
    (["--api", "billing", "--token", "t", "--client-id", "c", "--client-secret", "s"], "not both"),
    (["--api", "billing", "--client-id", "c"], "go together"),
    (["--api", "billing", "--compare-sandbox"], "--compare-sandbox compares"),
    (["--api", "billing", "--base-url", "http://127.0.0.1:9/billing", "--token", "t"], "cannot reach"),
])
def test_cli_cannot_run_exits_2_with_one_line(argv, reason, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert reason in err and err.count("\n") == 1


def test_cli_broken_target_exits_1_with_curl(app, tmp_path, capsys):
    workspace = app.extensions["sandbox"]["registry"].create()
    server = LocalServer(CATALOGUE["ignored limit"].middleware(app, workspace.token))
    try:
        code = main(["--api", "payments", "--base-url", f"{server.url}/payments", "--token", workspace.token,
                     "--read-only", "--max-examples", "5", "--quiet", "--junit", str(tmp_path / "j.xml")])
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert code == 1 and "FAIL page_size" in out and "curl -X GET" in out
    failures = [c for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase") if c.find("failure") is not None]
    assert {c.get("name") for c in failures} >= {"page_size"}


COMMERCE_ORG = "5c0a7e1d-2b3f-4c8a-9d6e-1f2a3b4c5d6e"  # the first organization of every sandbox workspace


def _everything(url: str, path: str, items: str, headers: dict[str, str], **query) -> list:
    import requests

    found, cursor = [], {}
    while True:
        body = requests.get(url + path, params={**query, **cursor}, headers=headers, timeout=10).json()
        found += body[items]
        nxt = body.get("cursor") or (body.get("page_info") or {}).get("end_cursor")
        if not body[items] or not nxt or "offset" in query:
            return found
        cursor = {"cursor" if "cursor" in body else "after": nxt}


def test_live_sandbox_each_api_exits_0_and_keeps_the_default_workspace(live_server, tmp_path, capsys):
    import subprocess
    import sys

    import requests

    server = live_server()
    auth = {"Authorization": "Bearer sandbox-token"}
    views = {
        "payments": ("/payments/customers", "data", {"limit": 100}),
        "exemptions": ("/exemptions/customers", "customers", {"corporation_id": "corp_123", "limit": 100}),
        "billing": ("/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/businesses", "data",
                    {"limit": 100, "offset": 0}),
        "commerce": ("/commerce/api/v1/businesses", "data", {"o": COMMERCE_ORG, "page[size]": 100}),
    }
    before = {api: _everything(server.url, p, k, auth, **q) for api, (p, k, q) in views.items()}
    junit = tmp_path / "payments.xml"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "contract-test"), "--api", "payments", "--base-url", f"{server.url}/payments",
         "--client-id", "sandbox", "--client-secret", "sandbox-token", "--junit", str(junit), "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "0"
    created = re.search(r"archived or deleted at the end: (.*)", done.stdout)[1].split(", ")
    for api, extra in (("billing", ["--token", "sandbox-token"]),
                       ("exemptions", ["--token", "sandbox-token", "--corporation", "corp_123"]),
                       ("commerce", ["--token", "sandbox-token", "--org", COMMERCE_ORG])):
        out = tmp_path / f"{api}.xml"
        assert main(["--api", api, "--base-url", f"{server.url}/{api}", *extra, "--junit", str(out), "--quiet"]) == 0, \
            capsys.readouterr().out
        assert ET.parse(out).getroot().find("testsuite").get("failures") == "0"
    after = {api: _everything(server.url, p, k, auth, **q) for api, (p, k, q) in views.items()}
    assert after == before
    for customer in created:
        record = requests.get(f"{server.url}/payments/customers/{customer}", headers=auth, timeout=10).json()
        assert record["status"] == "archived" and record["name"].startswith("contract-test-")


def test_compare_sandbox_reports_per_operation(app, capsys):
    workspace = app.extensions["sandbox"]["registry"].create()
    server = LocalServer(DIFFERENT.middleware(app, workspace.token))
    try:
        code = main(["--api", "payments", "--base-url", f"{server.url}/payments", "--token", workspace.token,
                     "--read-only", "--max-examples", "3", "--quiet", "--compare-sandbox"])
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert code == 0
    assert "compared with the sandbox (reads only):" in out
    assert re.search(r"GET /customers: \d+ cases, \d+ with another status, [1-9]\d* with another shape", out)
