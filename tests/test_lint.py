"""The specs lint clean under the linters documentation sites use.

Redocly's ``recommended`` ruleset (``redocly.yaml``) and Spectral's ``spectral:oas``
(``.spectral.yaml``), warnings included. Each rule turned off is named and justified in its
config, each single exempted problem in ``.redocly.lint-ignore.yaml``. Both CLIs are
pinned and installed by npm into ``.cache/lint`` on first use (they work offline after
that); without npm the tests skip and say why.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "openapi").glob("*.yaml"))
CACHE = ROOT / ".cache" / "lint"
# Pinned: newer releases of either may need a newer Node than 20 (npm would quietly pick older ones).
PINS = {"@redocly/cli": "2.77.0", "@stoplight/spectral-cli": "6.16.3"}
# No telemetry, no update check: the linters must not reach the network.
QUIET_ENV = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}


def _installed(package: str) -> str | None:
    manifest = CACHE / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.fixture(scope="module")
def bin_dir() -> Path:
    """The pinned linters' ``node_modules/.bin``, installed when missing or at another version."""
    if all(_installed(p) == v for p, v in PINS.items()):
        return CACHE / "node_modules" / ".bin"
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("npm/node not installed: the Redocly and Spectral lint checks need Node.js 20+ and npm")
    CACHE.mkdir(parents=True, exist_ok=True)
    packages = [f"{p}@{v}" for p, v in PINS.items()]
    # --ignore-scripts: a dependency's postinstall (@scarf/scarf) reports installs over the network.
    done = subprocess.run([npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--ignore-scripts",
                           *packages], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"npm install {' '.join(packages)} failed:\n{done.stdout}\n{done.stderr}")
    return CACHE / "node_modules" / ".bin"


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_redocly_recommended(bin_dir: Path, spec_path: Path) -> None:
    done = subprocess.run([str(bin_dir / "redocly"), "lint", "--config", "redocly.yaml", "--format", "json",
                           str(spec_path.relative_to(ROOT))],
                          cwd=ROOT, capture_output=True, text=True, env=QUIET_ENV, timeout=300)
    report = json.loads(done.stdout)
    problems = [f"{p['location'][0]['source']['ref']}:{p['location'][0].get('start', {}).get('line', '?')} "
                f"{p['severity']} {p['ruleId']}: {p['message']}" for p in report["problems"]]
    assert problems == [], "\n".join(problems)
    assert (report["totals"]["errors"], report["totals"]["warnings"]) == (0, 0)


def test_spectral_oas(bin_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "spectral.json"
    done = subprocess.run([str(bin_dir / "spectral"), "lint", "--ruleset", ".spectral.yaml", "--format", "json",
                           "--output", str(report), "--fail-severity", "hint",
                           *(str(s.relative_to(ROOT)) for s in SPECS)],
                          cwd=ROOT, capture_output=True, text=True, env=QUIET_ENV, timeout=300)
    assert report.exists(), f"spectral wrote no report:\n{done.stdout}\n{done.stderr}"
    found = json.loads(report.read_text())
    problems = [f"{Path(p['source']).name}:{p['range']['start']['line'] + 1} {p['code']}: {p['message']} "
                f"({'.'.join(map(str, p['path']))})" for p in found]
    assert problems == [], "\n".join(problems)
    assert done.returncode == 0, done.stderr


def _schema_refs(node: object) -> set[str]:
    """Names of component schemas a ``$ref`` anywhere in ``node`` (extensions included) points to."""
    if isinstance(node, dict):
        found = {m.group(1) for v in [node.get("$ref")] if isinstance(v, str)
                 for m in [re.fullmatch(r"#/components/schemas/(.+)", v)] if m}
        return found.union(*(_schema_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_schema_refs(v) for v in node))
    return set()


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_every_component_schema_is_used(spec_path: Path) -> None:
    """The linters' unused-component rule, with ``x-sandbox.collections`` counted as a use."""
    raw = yaml.safe_load(spec_path.read_text())
    collections = raw.get("x-sandbox", {}).get("collections", {})
    used = _schema_refs(raw) | {c["schema"] for c in collections.values()}
    unused = sorted(set(raw.get("components", {}).get("schemas", {})) - used)
    assert unused == [], f"{spec_path.name}: component schemas nothing uses: {unused}"
