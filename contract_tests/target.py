"""Where the contract suite points: the sandbox in-process (default) or a live base URL.

Environment (all optional):

- ``CONTRACT_BASE_URL``   root of a live sandbox, APIs under ``/<api>`` (``http://127.0.0.1:8000``)
- ``CONTRACT_<API>_URL``  base URL of one API, e.g. ``CONTRACT_PAYMENTS_URL=https://api.example.com``
                          (a real implementation); overrides ``CONTRACT_BASE_URL`` for that API
- ``CONTRACT_TOKEN``      bearer token (default ``sandbox-token``)
- ``CONTRACT_CLIENT_ID`` / ``CONTRACT_CLIENT_SECRET``  get the token with the OAuth2
                          client-credentials grant instead, from ``CONTRACT_TOKEN_URL``
                          (default: the payments API's ``/oauth/token``)
- ``CONTRACT_APIS``       comma-separated APIs to check (default: every spec in ``openapi/``)
- ``CONTRACT_MAX_EXAMPLES`` examples per operation (default 25); ``CONTRACT_SEED`` (default 42)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import requests

from sandbox.engine.spec import SPEC_DIR  # noqa: E402 - the one place that knows where specs are


def all_apis() -> list[str]:
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


@dataclass
class Target:
    """One run's target. ``app`` set: in-process WSGI; otherwise live URLs."""

    apis: list[str]
    base_url: str | None
    token: str
    seed: int
    max_examples: int

    @classmethod
    def from_env(cls) -> "Target":
        apis = [a.strip() for a in (_env("CONTRACT_APIS") or ",".join(all_apis())).split(",") if a.strip()]
        unknown = set(apis) - set(all_apis())
        if unknown:
            raise SystemExit(f"CONTRACT_APIS names unknown APIs {sorted(unknown)}; known: {all_apis()}")
        target = cls(
            apis=apis,
            base_url=_env("CONTRACT_BASE_URL"),
            token=_env("CONTRACT_TOKEN") or "sandbox-token",
            seed=int(_env("CONTRACT_SEED") or 42),
            max_examples=int(_env("CONTRACT_MAX_EXAMPLES") or 25),
        )
        if _env("CONTRACT_CLIENT_ID"):
            target.token = target.fetch_token()
        return target

    @property
    def live(self) -> bool:
        return self.base_url is not None or any(_env(f"CONTRACT_{a.upper()}_URL") for a in self.apis)

    def api_url(self, api: str) -> str:
        explicit = _env(f"CONTRACT_{api.upper()}_URL")
        if explicit:
            return explicit.rstrip("/")
        if self.base_url is None:
            raise SystemExit(f"no URL for {api}: set CONTRACT_BASE_URL or CONTRACT_{api.upper()}_URL")
        prefix = "/_sandbox" if api == "sandbox" else f"/{api}"
        return self.base_url.rstrip("/") + prefix

    def fetch_token(self) -> str:
        """Client-credentials grant against the token URL (HTTP Basic client authentication)."""
        url = _env("CONTRACT_TOKEN_URL") or self.api_url("payments") + "/oauth/token"
        response = requests.post(url, data={"grant_type": "client_credentials"}, timeout=30,
                                 auth=(_env("CONTRACT_CLIENT_ID") or "", _env("CONTRACT_CLIENT_SECRET") or ""))
        if response.status_code != 200:
            raise SystemExit(f"token request to {url} failed: {response.status_code} {response.text[:300]}")
        return response.json()["access_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @cached_property
    def app(self) -> Any:
        """The sandbox, in-process, built the way ``sandbox serve`` builds it (default settings)."""
        from sandbox import create_app
        from sandbox.settings import Settings

        return create_app(Settings(strict=True))

    def schema(self, api: str):
        import schemathesis

        if self.live:
            schema = schemathesis.openapi.from_path(SPEC_DIR / f"{api}.yaml")
            schema.config.update(base_url=self.api_url(api), headers=self.headers)
        else:
            prefix = "_sandbox" if api == "sandbox" else api
            schema = schemathesis.openapi.from_wsgi(f"/_sandbox/specs/{api}", self.app)
            schema.config.update(base_url=f"http://localhost/{prefix}", headers=self.headers)
        schema.config.seed = self.seed
        schema.config.generation.update(max_examples=self.max_examples)
        return schema
