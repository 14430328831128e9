"""Workspaces and the credentials that select them."""
from __future__ import annotations

import copy
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from .scenarios import apply_scenario, check_references, check_scenario, read_scenario
from .store import Workspace

if TYPE_CHECKING:
    from ..settings import Settings
    from .api import ApiDefinition

TOKEN_LIFETIME = 3600


class Registry:
    """All workspaces of one sandbox process, by bearer token and by OAuth2 client.

    The default workspace is made at start with the configured credentials; more can be
    created at run time, each seeded from the same seed and isolated from the others.
    """

    def __init__(self, apis: list["ApiDefinition"], settings: "Settings") -> None:
        from fixtures import build_datasets  # fixtures import faker: only once the app starts

        self.apis = apis
        self.settings = settings
        self._datasets = build_datasets(apis, settings.seed, settings.scale, settings.today)
        self._scenarios = [(str(path), read_scenario(path)) for path in settings.fixtures]
        for source, scenario in self._scenarios:  # once here; each fill checks only parent ids
            check_scenario(scenario, apis, source)
        self._lock = threading.Lock()
        self._by_token: dict[str, Workspace] = {}
        self._by_client: dict[str, Workspace] = {}
        self._issued: dict[str, tuple[Workspace, float]] = {}
        self.default = self.create("default", settings.token, settings.client_id, settings.client_secret)

    def create(self, name: str | None = None, token: str | None = None,
               client_id: str | None = None, client_secret: str | None = None) -> Workspace:
        with self._lock:
            name = name or f"ws_{secrets.token_hex(6)}"
            if any(ws.name == name for ws in self._by_token.values()):
                raise ValueError(f"workspace {name!r} exists")
            workspace = Workspace(
                name=name,
                token=token or f"sbx_{secrets.token_urlsafe(24)}",
                client_id=client_id or f"client_{secrets.token_hex(8)}",
                client_secret=client_secret or secrets.token_urlsafe(24),
                seed=self.settings.seed,
                scale=self.settings.scale,
            )
            self._fill(workspace)
            self._by_token[workspace.token] = workspace
            self._by_client[workspace.client_id] = workspace
            return workspace

    def _fill(self, workspace: Workspace) -> None:
        for api in self.apis:
            collections = api.new_collections()
            for name, records in self._datasets.get(api.name, {}).items():
                target = collections[name]
                for record in copy.deepcopy(records):
                    target.put(record)
            workspace.collections[api.name] = collections
        for source, scenario in self._scenarios:
            self.apply(workspace, scenario, source)

    def load(self, workspace: Workspace, scenario: dict[str, Any], source: str = "scenario") -> dict[str, dict[str, int]]:
        """Check a scenario against the specs (without the workspace's lock: a big one takes
        time), then, holding the lock, its parent ids against the workspace, and load it whole."""
        check_scenario(scenario, self.apis, source)
        return self.apply(workspace, scenario, source)

    def apply(self, workspace: Workspace, scenario: dict[str, Any], source: str) -> dict[str, dict[str, int]]:
        """A scenario whose records were checked (``check_scenario``): holding the workspace's
        lock, its parent ids against the workspace, then the records, whole."""
        with workspace.lock, workspace.transaction():
            check_references(scenario, self.apis, workspace, source)
            return apply_scenario(scenario, workspace)

    def reset(self, workspace: Workspace) -> Workspace:
        """Back to the seeded data, ids included (the id sequence restarts too)."""
        with workspace.lock:
            workspace.collections = {}
            workspace.restart_ids()
            self._fill(workspace)
        return workspace

    def by_bearer(self, token: str) -> Workspace | None:
        workspace = self._by_token.get(token)
        if workspace is not None:
            return workspace
        issued = self._issued.get(token)
        if issued is not None and issued[1] > time.monotonic():
            return issued[0]
        return None

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int] | None:
        """An access token for a known client (client-credentials grant), else None."""
        workspace = self._by_client.get(client_id)
        if workspace is None or not secrets.compare_digest(workspace.client_secret, client_secret):
            return None
        token = f"sat_{secrets.token_urlsafe(32)}"
        with self._lock:
            now = time.monotonic()
            self._issued = {t: v for t, v in self._issued.items() if v[1] > now}
            self._issued[token] = (workspace, now + TOKEN_LIFETIME)
        return token, TOKEN_LIFETIME
