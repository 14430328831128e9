"""Detection rate of ``contract-test`` on the catalogue of broken implementations, beside ``st run``.

Each broken implementation (``tests/broken``) is served on 127.0.0.1 in a workspace of its
own; the kit runs with default settings, then ``st run`` (schemathesis's CLI, same spec, same
target, same seed and examples, the repository's ``schemathesis.toml``). The kit counts as
detecting a bug when the expected check reports a contract failure; ``st run`` when it exits
non-zero (it fails on the unbroken sandbox or not: that line is printed first).

    .venv/bin/python bench/kit_catalogue.py [--max-examples 25] [--seed 42]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contract_tests.http import Client, LocalServer  # noqa: E402
from contract_tests.run import Options, run  # noqa: E402
from contract_tests.spec import ApiSpec  # noqa: E402
from sandbox import create_app  # noqa: E402
from sandbox.settings import Settings  # noqa: E402
from tests.broken import CATALOGUE, DIFFERENT, Broken, Rewrite  # noqa: E402


def st_run(api: str, url: str, token: str, examples: int, seed: int) -> tuple[int, str]:
    done = subprocess.run(
        [str(ROOT / ".venv/bin/st"), "run", str(ROOT / "openapi" / f"{api}.yaml"), "--url", url,
         "-H", f"Authorization: Bearer {token}", "--max-examples", str(examples), "--seed", str(seed),
         "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    codes = re.findall(r"❌ (ST\d+ [^:]+): (\d+)", done.stdout)
    return done.returncode, "; ".join(f"{code} x{count}" for code, count in codes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-st", action="store_true")
    args = parser.parse_args()
    app = create_app(Settings(strict=True))
    registry = app.extensions["sandbox"]["registry"]
    rows = [("(unbroken sandbox, billing)", Broken("billing", Rewrite, frozenset())),
            ("(unbroken sandbox, payments)", Broken("payments", Rewrite, frozenset())),
            ("(correct but different)", DIFFERENT), *CATALOGUE.items()]
    kit_hits = st_hits = 0
    print(f"{'implementation':32} {'api':9} {'kit':>5} {'time':>6}  {'st run':>6}  st run failures")
    for name, broken in rows:
        workspace = registry.create()
        server = LocalServer(broken.middleware(app, workspace.token))
        spec = ApiSpec.load(broken.api)
        base = server.url + spec.server_path
        try:
            started = time.monotonic()
            report = run(spec, base, {"Authorization": f"Bearer {workspace.token}"}, Client(),
                         Options(seed=args.seed, max_examples=args.max_examples), "bench")
            seconds = time.monotonic() - started
            st_code, st_summary = (None, "") if args.skip_st else st_run(
                broken.api, base, workspace.token, args.max_examples, args.seed)
        finally:
            server.stop()
        contract = {f.check for f in report.findings if f.verdict == "contract"}
        if broken.checks:
            kit = "yes" if broken.checks <= contract else "NO"
            kit_hits += kit == "yes"
            st_hits += bool(st_code)
        else:
            kit = "fail" if contract else "clean"
        st = "-" if st_code is None else ("fails" if st_code else "passes")
        print(f"{name:32} {broken.api:9} {kit:>5} {seconds:5.1f}s  {st:>6}  {st_summary[:90]}", flush=True)
    print(f"\ndetected: contract-test {kit_hits}/{len(CATALOGUE)}, st run {st_hits}/{len(CATALOGUE)}")


if __name__ == "__main__":
    main()
