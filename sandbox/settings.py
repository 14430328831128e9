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

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then ``SANDBOX_*`` environment variables, then explicit overrides."""
        env = cls(
            seed=_env_int("SANDBOX_SEED", 42),
            scale=_env_int("SANDBOX_SCALE", 1),
            token=os.environ.get("SANDBOX_TOKEN") or "sandbox-token",
            client_id=os.environ.get("SANDBOX_CLIENT_ID") or "sandbox",
            client_secret=os.environ.get("SANDBOX_CLIENT_SECRET") or "sandbox-token",
        )
        for name, value in overrides.items():
            if value is not None:
                setattr(env, name, value)
        return env
