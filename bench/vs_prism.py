"""The sandbox against Prism's static mock: same spec, same requests, same load generator.

For every API (every spec in ``openapi/`` but the control API), starts ``sandbox serve``
(one process, validation on, seeded data) and ``prism mock`` (npm ``@stoplight/prism-cli``,
installed into ``.cache/prism`` on first use) on free 127.0.0.1 ports, warms both up, then
loads one documented read with ``wrk -t1 -c8`` in alternating rounds and prints the medians
of req/s and p99 and the sandbox/Prism ratio. Figures depend on the machine: compare
columns, not runs on different machines.

    python bench/vs_prism.py [--apis payments,billing] [--seconds 10] [--rounds 3] [--warmup 10]
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

from common import (CACHE, ROOT, TOKEN, WrkResult, free_port, get_json, running,  # noqa: E402
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


def measure(api: str, args: argparse.Namespace) -> tuple[str, tuple, tuple]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with ExitStack() as stack:
        sandbox_port, prism_port = free_port(), free_port()
        stack.enter_context(running(sandbox_args(sandbox_port), sandbox_port, "/_sandbox/health"))
        spec = ROOT / "openapi" / f"{api}.yaml"
        stack.enter_context(running([str(ensure_prism()), "mock", "-h", "127.0.0.1", "-p", str(prism_port),
                                     str(spec)], prism_port, "/"))
        status, workspace = get_json(sandbox_port, "/_sandbox/workspace")
        if status != 200:
            raise SystemExit(f"GET /_sandbox/workspace answered {status}: {workspace}")
        path = request_path(api, workspace["apis"][api]["start_ids"])
        targets = {"sandbox": (sandbox_port, f"/{api}{path}"), "prism": (prism_port, path)}
        for name, (port, target) in targets.items():
            status, body = get_json(port, target)
            if status != 200:
                raise SystemExit(f"{name}: GET {target} answered {status} ({str(body)[:200]}); "
                                 "the comparison would be meaningless")
        urls = {name: f"http://127.0.0.1:{port}{target}" for name, (port, target) in targets.items()}
        for url in urls.values():
            wrk(url, args.warmup, headers=headers)
        rounds: dict[str, list[WrkResult]] = {"sandbox": [], "prism": []}
        for _ in range(args.rounds):
            for name, url in urls.items():
                rounds[name].append(wrk(url, args.seconds, headers=headers))
        return path, median(rounds["sandbox"]), median(rounds["prism"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apis", default=",".join(partner_apis()), help="comma-separated APIs")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one measured round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--warmup", type=float, default=10.0, help="warm-up load per server, seconds")
    args = parser.parse_args()
    os.chdir(ROOT)
    print(f"wrk -t1 -c8, {args.rounds} alternating rounds of {args.seconds:.0f} s after {args.warmup:.0f} s "
          f"of warm-up; medians. sandbox serve: one process, validation on. Prism {PRISM_VERSION}: static mock.")
    print(f"{'API':<11} {'request':<52} {'sandbox req/s (p99)':>22} {'Prism req/s (p99)':>20} {'ratio':>6}")
    for api in [a.strip() for a in args.apis.split(",") if a.strip()]:
        path, ours, prism = measure(api, args)
        errors = f"   ({ours[2]} / {prism[2]} errors)" if ours[2] or prism[2] else ""
        print(f"{api:<11} {path[:52]:<52} {ours[0]:>9,.0f} ({ours[1]:5.1f} ms) {prism[0]:>8,.0f} ({prism[1]:5.1f} ms)"
              f" {ours[0] / prism[0]:>6.2f}{errors}", flush=True)


if __name__ == "__main__":
    main()
