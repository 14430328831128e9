"""The install path of the Docker image, checked without Docker: build the wheel, install it
into a fresh virtual environment (no checkout on its path), run ``sandbox serve``, ask health."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

from .conftest import ROOT, free_port


def _run(*args: str, cwd: Path, timeout: int = 600) -> str:
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_the_wheel_installs_and_serves_from_anywhere(tmp_path):
    # built from a copy without a checkout's build/ (stale files there would mask a missing package)
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".cache", "build", "dist", "reports", "*.egg-info", "__pycache__", "node_modules"))
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source), cwd=tmp_path)
    wheel = next(wheels.glob("api_sandbox-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run(str(python), "-m", "pip", "install", "-q", str(wheel), cwd=tmp_path)  # its runtime dependencies too
    found = _run(str(python), "-c", "import sandbox, sandbox.engine.spec as s; print(sandbox.__file__, s.SPEC_DIR)",
                 cwd=tmp_path)
    assert str(ROOT) not in found and "site-packages" in found, found

    port = free_port()
    server = subprocess.Popen([str(env_dir / "bin" / "sandbox"), "serve", "--port", str(port)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/health", timeout=2) as response:
                    health = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "the installed sandbox did not answer health"
                time.sleep(0.3)
        assert health["status"] == "ok"
        assert {a["name"] for a in health["apis"]} >= {"payments", "billing", "exemptions", "sandbox"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/specs/payments", timeout=10) as response:
            assert json.load(response)["openapi"].startswith("3.1")
    finally:
        server.terminate()
        server.wait(timeout=15)
