"""compose.yaml (Redis and two sandbox replicas behind nginx) is a valid Compose file."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from .conftest import ROOT


def compose_command() -> list[str] | None:
    """``docker compose`` (the plugin) or Debian's ``docker-compose``, whichever is here."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_runs_two_replicas_on_one_redis_behind_a_proxy():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert set(services) == {"redis", "sandbox-1", "sandbox-2", "proxy"}
    assert "--appendonly" in services["redis"]["command"]
    for name in ("sandbox-1", "sandbox-2"):
        command = services[name]["command"]
        assert command[command.index("--store") + 1] == "redis://redis:6379/0"
    assert (ROOT / "deploy" / "nginx.conf").read_text().count("server sandbox-") == 2


def test_docker_compose_config_passes():
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run([*command, "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
