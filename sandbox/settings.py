"""Start-up settings: CLI flags override environment variables, which override defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, timezone


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass
class Settings:
    seed: int = 42
    scale: int = 1
    token: str = "sandbox-token"          # bearer token of the default workspace
    client_id: str = "sandbox"            # OAuth2 client of the default workspace
    client_secret: str = "sandbox-token"
    validate: bool = True                 # request validation on the serving path
    strict: bool = False                  # also validate responses (a mismatch is a 500)
    today: date = field(default_factory=lambda: datetime.now(timezone.utc).date())
    fixtures: list[str] = field(default_factory=list)  # scenario files loaded at start
    admin_token: str | None = None        # when set, creating a workspace needs it as bearer token
    max_workspaces: int = 2000            # live workspaces, the default one included
    max_records: int = 10_000             # records one workspace may write (created or changed)
    max_total_records: int = 500_000      # records all workspaces together may write
    idle_expiry: int = 86_400             # seconds unused before a workspace is removed; 0: never
    max_scale: int = 10                   # largest scale a new workspace may ask for
    max_datasets: int = 4                 # distinct (seed, scale) data sets held at once
    journal_size: int = 100               # requests each workspace's journal keeps
    max_delay_ms: int = 10_000            # largest Prefer: delay / workspace delay
    max_delayed: int = 2                  # requests of one workspace delayed at the same time
    store: str = "memory"                 # "memory", or "redis://host:port/db" to share state between processes
    store_namespace: str = "sandbox"      # prefix of this sandbox's Redis keys (several sandboxes, one Redis)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then ``SANDBOX_*`` environment variables, then explicit overrides."""
        env = cls(
            seed=_env_int("SANDBOX_SEED", 42),
            scale=_env_int("SANDBOX_SCALE", 1),
            token=os.environ.get("SANDBOX_TOKEN") or "sandbox-token",
            client_id=os.environ.get("SANDBOX_CLIENT_ID") or "sandbox",
            client_secret=os.environ.get("SANDBOX_CLIENT_SECRET") or "sandbox-token",
            admin_token=os.environ.get("SANDBOX_ADMIN_TOKEN") or None,
            max_workspaces=_env_int("SANDBOX_MAX_WORKSPACES", 2000),
            max_records=_env_int("SANDBOX_MAX_RECORDS", 10_000),
            max_total_records=_env_int("SANDBOX_MAX_TOTAL_RECORDS", 500_000),
            idle_expiry=_env_int("SANDBOX_IDLE_EXPIRY", 86_400),
            store=os.environ.get("SANDBOX_STORE") or "memory",
            store_namespace=os.environ.get("SANDBOX_STORE_NAMESPACE") or "sandbox",
        )
        for name, value in overrides.items():
            if value is not None:
                setattr(env, name, value)
        return env
