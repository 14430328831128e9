"""``contract-test``: check an implementation of one API against its contract.

Exit codes: 0 nothing failed; 1 the contract is broken; 2 the run could not be made
(bad flags, target unreachable, credentials refused), with a one-line reason.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urljoin

import requests

from .http import Client, LocalServer
from .report import Report
from .run import Options, preflight, run
from .spec import FLAG_PARAMS, ApiSpec, available_apis


class UsageError(Exception):
    """A run that cannot be made; the message is the one line the user sees."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="contract-test", description=__doc__.splitlines()[0],
                epilog="Without --base-url the sandbox is tested in-process, in a workspace of its own.")
    p.add_argument("--api", required=True, choices=available_apis())
    p.add_argument("--base-url", help="the API's root, e.g. https://api.example.com/payments")
    p.add_argument("--token", help="bearer token")
    p.add_argument("--client-id", help="OAuth2 client id (client-credentials grant)")
    p.add_argument("--client-secret", help="OAuth2 client secret")
    p.add_argument("--token-url", help="token endpoint (default: the spec's tokenUrl, on the target's host)")
    p.add_argument("--org", help="value of the required `o` parameter")
    p.add_argument("--corporation", help="value of the required `corporation_id` parameter")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="value of any other required parameter (repeatable)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--summary", metavar="FILE", help="write a Markdown summary")
    p.add_argument("--seed", type=int, default=42, help="same seed, same requests, same verdict (default 42)")
    p.add_argument("--max-examples", type=int, default=25, help="generated cases per operation and mode (default 25)")
    p.add_argument("--read-only", action="store_true", help="send no writes (GET only)")
    p.add_argument("--strict", action="store_true", help="sandbox decisions fail the run too")
    p.add_argument("--compare-sandbox", action="store_true",
                   help="also send the same reads to the in-process sandbox and report differences")
    p.add_argument("--rate", type=float, default=None, help="at most this many requests per second")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--quiet", action="store_true", help="no progress, summary only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        return _main(args)
    except UsageError as error:
        print(f"contract-test: error: {error}", file=sys.stderr)
        return 2
    except requests.RequestException as error:
        print(f"contract-test: error: the target stopped answering: {type(error).__name__}: {error}"[:300],
              file=sys.stderr)
        return 2


def known_values(args: argparse.Namespace) -> dict[str, Any]:
    known = {param: getattr(args, flag) for flag, param in FLAG_PARAMS.items() if getattr(args, flag)}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        known[name] = value
    return known


def _main(args: argparse.Namespace) -> int:
    if args.token and (args.client_id or args.client_secret):
        raise UsageError("give --token or --client-id/--client-secret, not both")
    if bool(args.client_id) != bool(args.client_secret):
        raise UsageError("--client-id and --client-secret go together")
    if args.compare_sandbox and not args.base_url:
        raise UsageError("--compare-sandbox compares a --base-url target with the sandbox")
    if args.max_examples < 1:
        raise UsageError("--max-examples must be at least 1")
    spec = ApiSpec.load(args.api)
    options = Options(seed=args.seed, max_examples=args.max_examples, read_only=args.read_only,
                      strict=args.strict or not args.base_url, known=known_values(args))
    client = Client(timeout=args.timeout, rate=args.rate, read_only=args.read_only)
    with ExitStack() as stack:
        if args.base_url:
            base_url = args.base_url.rstrip("/")
            headers = _credentials(args, spec, client, base_url)
            target = base_url
        else:
            sandbox = stack.enter_context(InProcessSandbox())
            base_url, headers = sandbox.base_url(spec), sandbox.headers
            target = "the sandbox, in-process"
        reason = preflight(spec, client, base_url, headers, options.known)
        if reason:
            raise UsageError(reason)
        recorded: list[tuple[Any, Any, Any]] = []
        on_case = (lambda op, case, response: recorded.append((op, case, response))) if args.compare_sandbox else None
        report = run(spec, base_url, headers, client, options, target, _progress(args.quiet), on_case)
        if args.compare_sandbox:
            from .compare import compare

            sandbox = stack.enter_context(InProcessSandbox())
            compare(report, recorded, sandbox.base_url(spec), sandbox.headers, Client(timeout=args.timeout))
    return _finish(report, args)


def _finish(report: Report, args: argparse.Namespace) -> int:
    print(report.text(), end="")
    if args.junit:
        report.write_junit(args.junit)
    if args.summary:
        Path(args.summary).write_text(report.markdown(), encoding="utf-8")
    return report.exit_code


def _credentials(args: argparse.Namespace, spec: ApiSpec, client: Client, base_url: str) -> dict[str, str]:
    if args.token:
        return {"Authorization": f"Bearer {args.token}"}
    if not args.client_id:
        return {}
    url = args.token_url or spec.token_url()
    if not url:
        raise UsageError(f"the {spec.name} spec names no token URL: give --token-url")
    url = urljoin(base_url + "/", url)
    try:
        response = client.post(url, data={"grant_type": "client_credentials"},
                               auth=(args.client_id, args.client_secret))
    except requests.RequestException as error:
        raise UsageError(f"cannot reach the token URL {url}: {type(error).__name__}") from None
    if response.status_code != 200:
        raise UsageError(f"credentials refused: the token URL {url} answered {response.status_code}")
    try:
        return {"Authorization": f"Bearer {response.json()['access_token']}"}
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"the token URL {url} answered without an access_token") from None


class InProcessSandbox:
    """The sandbox built as ``sandbox serve`` builds it, served on 127.0.0.1, in a workspace of its own."""

    def __enter__(self) -> "InProcessSandbox":
        from sandbox import create_app
        from sandbox.settings import Settings

        app = create_app(Settings(strict=True))
        workspace = app.extensions["sandbox"]["registry"].create()
        self.headers = {"Authorization": f"Bearer {workspace.token}"}
        self.server = LocalServer(app)
        return self

    def base_url(self, spec: ApiSpec) -> str:
        return self.server.url + spec.server_path

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        def plain(step: str, done: int, total: int) -> None:
            if not quiet:
                print(f"[{done}/{total}] {step}", file=sys.stderr, flush=True)
        return plain
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = None

    def fancy(step: str, done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(step, total=total)
        bar.update(task, completed=done, description=step)
        if done >= total:
            bar.stop()
    return fancy


if __name__ == "__main__":
    raise SystemExit(main())
