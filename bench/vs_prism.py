"""The sandbox against Prism's static mock: same spec, same requests, same load generator.

For every API (every spec in ``openapi/`` but the control API), starts ``sandbox serve``
(validation on, seeded data) once per worker count in ``--workers``, and ``prism mock`` (npm
``@stoplight/prism-cli``, installed into ``.cache/prism`` on first use), on free 127.0.0.1
ports; warms each up, then loads one documented read with ``wrk -t1 -c8`` in alternating
rounds (every server once per round) and prints the medians of req/s and p99 and the
sandbox/Prism ratio, one row per worker count. More than one worker needs a shared store
(``--store URL``, passed to ``sandbox serve``). Figures depend on the machine: compare
columns, not runs on different machines.

    python bench/vs_prism.py [--apis payments,billing] [--workers 1,2,4] [--store redis://... | redis]
                             [--seconds 10] [--rounds 3] [--warmup 10]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (CACHE, ROOT, TOKEN, WrkResult, free_port, get_json, local_redis, running,  # noqa: E402
                    sandbox_args, wrk)

PRISM_VERSION = "5.14.2"
PRISM_DIR = CACHE / "prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"


def ensure_prism() -> Path:
    """Prism's CLI at the pinned version, installed with npm into ``.cache/prism`` if missing."""
    installed = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    if PRISM.exists() and f'"version": "{PRISM_VERSION}"' in installed.read_text(encoding="utf-8"):
        return PRISM
    print(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR} ...", file=sys.stderr)
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PRISM_DIR),
                    f"@stoplight/prism-cli@{PRISM_VERSION}"], check=True, stdout=subprocess.DEVNULL)
    return PRISM


def request_path(api: str, start_ids: dict[str, list[str]]) -> str:
    """The documented read each API is measured on, relative to the API's mount."""
    if api == "payments":
        return "/customers?limit=10"
    if api == "billing":
        return f"/v1/customers/{start_ids['customer_ids'][0]}/businesses"
    if api == "exemptions":
        return f"/customers?corporation_id={start_ids['corporation_ids'][0]}&limit=20"
    if api == "commerce":
        return f"/api/v1/businesses?o={start_ids['organization_ids'][0]}"
    raise SystemExit(f"no benchmark request is defined for the {api} API")


def partner_apis() -> list[str]:
    return sorted(p.stem for p in (ROOT / "openapi").glob("*.yaml") if p.stem != "sandbox")


def median(results: list[WrkResult]) -> tuple[float, float, int]:
    return (statistics.median(r.rate for r in results), statistics.median(r.p99_ms for r in results),
            sum(r.errors for r in results))


def sandbox_command(port: int, workers: int, store: str | None) -> list[str]:
    return sandbox_args(port, "--workers", str(workers), *(["--store", store] if store else []))


def measure(api: str, args: argparse.Namespace) -> tuple[str, dict[str, tuple]]:
    """Medians per server (``sandbox-<workers>`` and ``prism``) for the API's bench read."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with ExitStack() as stack:
        ports = {f"sandbox-{n}": free_port() for n in args.workers}
        for n in args.workers:
            port = ports[f"sandbox-{n}"]
            stack.enter_context(running(sandbox_command(port, n, args.store), port, "/_sandbox/health"))
        ports["prism"] = free_port()
        spec = ROOT / "openapi" / f"{api}.yaml"
        stack.enter_context(running([str(ensure_prism()), "mock", "-h", "127.0.0.1", "-p", str(ports["prism"]),
                                     str(spec)], ports["prism"], "/"))
        first = ports[f"sandbox-{args.workers[0]}"]
        status, workspace = get_json(first, "/_sandbox/workspace")
        if status != 200:
            raise SystemExit(f"GET /_sandbox/workspace answered {status}: {workspace}")
        path = request_path(api, workspace["apis"][api]["start_ids"])
        targets = {name: (port, path if name == "prism" else f"/{api}{path}") for name, port in ports.items()}
        for name, (port, target) in targets.items():
            status, body = get_json(port, target)
            if status != 200:
                raise SystemExit(f"{name}: GET {target} answered {status} ({str(body)[:200]}); "
                                 "the comparison would be meaningless")
        urls = {name: f"http://127.0.0.1:{port}{target}" for name, (port, target) in targets.items()}
        for url in urls.values():
            wrk(url, args.warmup, headers=headers)
        rounds: dict[str, list[WrkResult]] = {name: [] for name in urls}
        for _ in range(args.rounds):
            for name, url in urls.items():
                rounds[name].append(wrk(url, args.seconds, headers=headers))
        return path, {name: median(results) for name, results in rounds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apis", default=",".join(partner_apis()), help="comma-separated APIs")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one measured round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--warmup", type=float, default=10.0, help="warm-up load per server, seconds")
    parser.add_argument("--workers", default="1", type=lambda text: [int(n) for n in text.split(",") if n.strip()],
                        help="comma-separated worker counts, one sandbox row each (default 1)")
    parser.add_argument("--store", default=None, metavar="URL",
                        help="passed to sandbox serve --store (more than one worker needs a shared store); "
                             "'redis' starts a redis-server of its own on a free port for the run")
    args = parser.parse_args()
    if max(args.workers) > 1 and not args.store:
        parser.error("--workers above 1 needs --store URL: the in-memory store serves from one process only")
    os.chdir(ROOT)
    with ExitStack() as stack:
        if args.store == "redis":
            args.store = stack.enter_context(local_redis())
        report(args)


def report(args: argparse.Namespace) -> None:
    print(f"wrk -t1 -c8, {args.rounds} alternating rounds of {args.seconds:.0f} s after {args.warmup:.0f} s "
          f"of warm-up; medians. sandbox serve: validation on, store {args.store or 'in memory'}. "
          f"Prism {PRISM_VERSION}: static mock.")
    print(f"{'API':<11} {'request':<52} {'workers':>7} {'sandbox req/s (p99)':>22} {'Prism req/s (p99)':>20} "
          f"{'ratio':>6}")
    for api in [a.strip() for a in args.apis.split(",") if a.strip()]:
        path, medians = measure(api, args)
        prism = medians["prism"]
        for n in args.workers:
            ours = medians[f"sandbox-{n}"]
            errors = f"   ({ours[2]} / {prism[2]} errors)" if ours[2] or prism[2] else ""
            print(f"{api:<11} {path[:52]:<52} {n:>7} {ours[0]:>9,.0f} ({ours[1]:5.1f} ms) "
                  f"{prism[0]:>8,.0f} ({prism[1]:5.1f} ms) {ours[0] / prism[0]:>6.2f}{errors}", flush=True)


if __name__ == "__main__":
    main()
