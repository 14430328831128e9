"""Workspaces and the credentials that select them: created, described, reset, exported,
imported, deleted, and expired when idle; bounded in number and in what they may write.

Every workspace of a (seed, scale) is an overlay over one shared data set built once
(the seeded records plus the start-up scenarios): creating or resetting one copies
nothing, and a workspace costs memory in proportion to what it writes. A data set is
built an API at a time, the first time anything reads that API (each API's records come
from a random.Random of its own, so they are the same bytes whenever it is built): a start
makes no data, and a sandbox makes only the APIs it is asked about.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .datacache import Records, cached_records
from .errors import Conflict, Detail, InsufficientStorage
from .scenarios import META_KEYS, api_part, apply_scenario, check_references, check_scenario, read_scenario
from .store import ByApi, Collection, Usage, Workspace

if TYPE_CHECKING:
    from ..settings import Settings
    from .api import ApiDefinition

TOKEN_LIFETIME = 3600
Dataset = ByApi  # api -> collection name -> shared base collection, each API's built when first read
MEMBER_SUFFIX = "-member"  # a workspace's non-admin token: its admin token + this suffix


def open_registry(apis: list["ApiDefinition"], settings: "Settings") -> "Registry":
    """The registry of ``settings.store``: in this process's memory, or in Redis."""
    if settings.store == "memory":
        return Registry(apis, settings)
    if not settings.store.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"store must be 'memory' or a redis:// URL, not {settings.store!r}")
    from .redis_registry import RedisRegistry  # redis-py is imported only when asked for

    return RedisRegistry(apis, settings)


class Registry:
    """All workspaces of one sandbox process, by bearer token and by OAuth2 client.

    The default workspace is made at start with the configured credentials and never
    expires; more can be created at run time, each isolated from the others.
    """

    def __init__(self, apis: list["ApiDefinition"], settings: "Settings") -> None:
        self.apis = apis
        self.settings = settings
        self.usage = self._total_usage()  # records written by all workspaces together
        self._scenarios = [(str(path), read_scenario(path)) for path in settings.fixtures]
        for source, scenario in self._scenarios:  # once here; each fill checks only parent ids
            check_scenario(scenario, apis, source)
        self._scenario_apis = [a.name for a in apis if any(a.name in s for _, s in self._scenarios)]
        self._lock = threading.Lock()
        self._datasets: OrderedDict[tuple[int, int], Dataset] = OrderedDict()
        self._by_token: dict[str, Workspace] = {}
        self._by_name: dict[str, Workspace] = {}
        self._swept = self._clock()
        self._members: dict[str, Workspace] = {}  # non-admin tokens
        self._by_client: dict[str, Workspace] = {}
        self._issued: dict[str, tuple[Workspace, float]] = {}
        self.default = self._default()

    # -- what a shared store does its own way (``redis_registry.RedisRegistry``) ------------

    _clock = staticmethod(time.monotonic)  # last_used and expiry are measured on it

    def _total_usage(self) -> Usage:
        return Usage()

    def _default(self) -> Workspace:
        """The workspace of the configured credentials, which never expires."""
        return self.create("default", token=self.settings.token, client_id=self.settings.client_id,
                           client_secret=self.settings.client_secret, expires=False)

    def _new(self, **fields: Any) -> Workspace:
        return Workspace(**fields, usage=Usage(self.usage))

    def _register(self, workspace: Workspace) -> None:
        """Make a created workspace's credentials work (room for it checked again, atomically)."""
        with self._lock:
            self._check_room_for(workspace.name, may_sweep=False)
            self._by_token[workspace.token] = workspace
            self._members[workspace.token + MEMBER_SUFFIX] = workspace
            self._by_client[workspace.client_id] = workspace
            self._by_name[workspace.name] = workspace

    def _name_taken(self, name: str) -> bool:
        return name in self._by_name

    def _start_over(self, workspace: Workspace) -> None:
        """Drop what the workspace wrote: the shared data set shows through again."""
        workspace.cover(self.dataset(workspace.seed, workspace.scale))

    # -- shared data sets ----------------------------------------------------------------

    def dataset(self, seed: int, scale: int) -> Dataset:
        """The shared base collections of (seed, scale), each API's built the first time it is
        read, except the APIs start-up scenarios write: those at once, so that a scenario that
        does not fit the seeded data stops the start (or the workspace create) as it always did."""
        dataset = self._dataset(seed, scale)
        for name in self._scenario_apis:
            dataset[name]
        return dataset

    def _dataset(self, seed: int, scale: int) -> Dataset:
        """The data set of (seed, scale), made (with nothing built yet) if there is none."""
        key = (seed, scale)
        with self._lock:
            if key in self._datasets:
                self._datasets.move_to_end(key)
                return self._datasets[key]
            self._make_room_for_dataset()
            apis = {api.name: api for api in self.apis}
            dataset = self._datasets[key] = ByApi(apis, lambda name: self._build(seed, scale, apis[name]))
            return dataset

    def _make_room_for_dataset(self) -> None:
        in_use = {(ws.seed, ws.scale) for ws in self._by_token.values()}
        while len(self._datasets) >= self.settings.max_datasets:
            unused = next((k for k in self._datasets if k not in in_use), None)
            if unused is None:
                raise InsufficientStorage(
                    f"The sandbox holds {len(self._datasets)} data sets (seed, scale), all in use; "
                    f"use the seed and scale of an existing workspace.",
                    [Detail("body.seed", f"at most {self.settings.max_datasets} distinct (seed, scale) at once")])
            del self._datasets[unused]

    def _build(self, seed: int, scale: int, api: "ApiDefinition") -> dict[str, Collection]:
        """One API's base collections: its seeded records, then what the start-up scenarios
        write into it, in their order (each part's parent ids checked first)."""
        collections = api.new_collections()
        for name, items in self._records(seed, scale, api).items():
            collections[name].fill(items)
        holder = Workspace(name="seed", token="", client_id="", client_secret="", seed=seed, scale=scale,
                           collections={api.name: collections})
        for source, scenario in self._scenarios:
            part = api_part(scenario, api.name)
            if part is not None:
                check_references(part, self.apis, holder, source)  # records checked once, at start
                apply_scenario(part, holder)
        return collections

    def _records(self, seed: int, scale: int, api: "ApiDefinition") -> Records:
        """One API's seeded records, from the data cache when they were made before."""
        if api.fixtures is None:
            return {}
        from fixtures import build_dataset  # fixtures import faker: only once data is made

        today = self.settings.today
        return cached_records(api.name, seed, scale, today, lambda: build_dataset(api, seed, scale, today))

    # -- life cycle ----------------------------------------------------------------------

    def create(self, name: str | None = None, *, seed: int | None = None, scale: int | None = None,
               rate_limit: float | None = None, delay_ms: int = 0, scenario: dict[str, Any] | None = None,
               token: str | None = None, client_id: str | None = None, client_secret: str | None = None,
               expires: bool = True) -> Workspace:
        """A new workspace; ``scenario`` (checked whole first) is loaded on top of its seed."""
        self.sweep(force=False)
        self._check_room_for(name)
        workspace = self._new(
            name=name or f"ws_{secrets.token_hex(6)}",
            token=token or f"sbx_{secrets.token_urlsafe(24)}",
            client_id=client_id or f"client_{secrets.token_hex(8)}",
            client_secret=client_secret or secrets.token_urlsafe(24),
            seed=self.settings.seed if seed is None else seed,
            scale=self.settings.scale if scale is None else scale,
            rate_limit=rate_limit, delay_ms=delay_ms, expires=expires, scenario=scenario,
        )
        try:
            workspace.cover(self.dataset(workspace.seed, workspace.scale))
            if scenario is not None:
                self.load(workspace, scenario, "body.scenario")
            self._register(workspace)
        except BaseException:
            self._release(workspace)  # give back what a half-made workspace counted
            raise
        return workspace

    def _check_room_for(self, name: str | None, may_sweep: bool = True) -> None:
        """Conflict if ``name`` is taken; InsufficientStorage at the limit (after sweeping, if it may)."""
        if name is not None and self._name_taken(name):
            raise Conflict(f"A workspace named {name!r} exists.", [Detail("body.name", "is taken")])
        full = self.count >= self.settings.max_workspaces
        if full and not (may_sweep and self.sweep()):
            raise InsufficientStorage(
                f"The sandbox holds its limit of {self.settings.max_workspaces} workspaces; delete one "
                f"(DELETE /_sandbox/workspace) or wait for idle ones to expire.",
                [Detail("workspaces", f"at most {self.settings.max_workspaces} live workspaces")])

    def reset(self, workspace: Workspace) -> Workspace:
        """Back to its start (seed, and the scenario it was created with), ids included."""
        with workspace.lock:
            self._start_over(workspace)
            workspace.restart_ids()
            if workspace.scenario is not None:
                apply_scenario(workspace.scenario, workspace)
        return workspace

    def delete(self, workspace: Workspace) -> None:
        """Remove a workspace: its token, its OAuth client and the tokens issued to it stop working."""
        if not workspace.expires:
            raise Conflict("The default workspace cannot be deleted; reset it instead (POST /_sandbox/workspace/reset).",
                           [Detail("workspace", "is the default workspace")])
        with self._lock:
            self._remove(workspace)
        self._release(workspace)

    def _release(self, workspace: Workspace) -> None:
        with workspace.lock:
            workspace.cover({})

    def _remove(self, workspace: Workspace) -> None:
        workspace.alive = False
        self._by_token.pop(workspace.token, None)
        self._members.pop(workspace.token + MEMBER_SUFFIX, None)
        self._by_client.pop(workspace.client_id, None)
        self._by_name.pop(workspace.name, None)
        self._issued = {t: v for t, v in self._issued.items() if v[0] is not workspace}

    def expired(self, workspace: Workspace, now: float | None = None) -> bool:
        idle = self.settings.idle_expiry
        return workspace.expires and idle > 0 and (now or self._clock()) - workspace.last_used > idle

    def expires_at(self, workspace: Workspace) -> datetime | None:
        if not workspace.expires or self.settings.idle_expiry <= 0:
            return None
        left = self.settings.idle_expiry - (self._clock() - workspace.last_used)
        return datetime.now(timezone.utc) + timedelta(seconds=left)

    def sweep(self, force: bool = True) -> int:
        """Remove every workspace idle for longer than the expiry; returns how many.

        Unless ``force``d, at most once a minute (a sweep looks at every workspace)."""
        now = self._clock()
        if self.settings.idle_expiry <= 0 or (not force and now - self._swept < min(60, self.settings.idle_expiry)):
            return 0
        with self._lock:
            self._swept = now
            gone = [ws for ws in self._by_token.values() if self.expired(ws, now)]
            for workspace in gone:
                self._remove(workspace)
        for workspace in gone:
            self._release(workspace)
        return len(gone)

    @property
    def count(self) -> int:
        return len(self._by_token)

    # -- data in and out -----------------------------------------------------------------

    def load(self, workspace: Workspace, scenario: dict[str, Any], source: str = "scenario") -> dict[str, dict[str, int]]:
        """Check a scenario against the specs (without the workspace's lock: a big one takes
        time), then, holding the lock, against the workspace and the limits, and load it whole."""
        check_scenario(scenario, self.apis, source)
        return self.apply(workspace, scenario, source)

    def apply(self, workspace: Workspace, scenario: dict[str, Any], source: str) -> dict[str, dict[str, int]]:
        """A scenario whose records were checked (``check_scenario``): holding the workspace's
        lock, its parent ids against the workspace and its size against the limits, then the
        records, whole."""
        with workspace.lock, workspace.transaction():
            check_references(scenario, self.apis, workspace, source)
            self._check_room_for_scenario(workspace, scenario)
            return apply_scenario(scenario, workspace)

    def _check_room_for_scenario(self, workspace: Workspace, scenario: dict[str, Any]) -> None:
        """What loading would leave written must fit the limits (records equal to the seed cost nothing)."""
        freed = 0
        needed = 0
        for api_name, collections in scenario.items():
            if api_name in META_KEYS:
                continue
            if scenario.get("replace"):
                freed += sum(c.written for c in workspace.collections[api_name].values())
            for name, records in collections.items():
                target = workspace.collection(api_name, name)
                needed += sum(1 for record in records if target.differs(record))
        grow = needed - freed
        self.check_room(workspace, grow, "body")

    def check_room(self, workspace: Workspace, grow: int = 1, field: str = "workspace") -> None:
        """InsufficientStorage if ``grow`` more written records would pass a limit."""
        limits = ((workspace.usage.records, self.settings.max_records, "this workspace"),
                  (self.usage.records, self.settings.max_total_records, "all workspaces together"))
        for used, limit, whose in limits:
            if grow > 0 and used + grow > limit:
                raise InsufficientStorage(
                    f"Record limit reached: {whose} may hold at most {limit} records created or changed "
                    f"({used} held). Reset or delete a workspace to make room.",
                    [Detail(field, f"would pass the limit of {limit} records for {whose}")])

    def export(self, workspace: Workspace) -> dict[str, Any]:
        """All the workspace's data, ``{name, seed, scale, data: {api: {collection: [record]}}}``."""
        with workspace.lock:
            data = {api: {name: list(c.values()) for name, c in collections.items()}
                    for api, collections in workspace.collections.items() if collections}
            return {"name": workspace.name, "seed": workspace.seed, "scale": workspace.scale, "data": data}

    def import_data(self, workspace: Workspace, data: dict[str, Any]) -> dict[str, dict[str, int]]:
        """Replace the data of every API ``data`` names (an export's ``data``), whole or not at all."""
        scenario = {**data, "replace": True}
        with workspace.lock:
            loaded = self.load(workspace, scenario, "the document")
            digest = hashlib.sha256(json.dumps(scenario, sort_keys=True).encode()).hexdigest()[:16]
            workspace.restart_ids(f":{digest}")
            return loaded

    # -- credentials ---------------------------------------------------------------------

    def by_bearer(self, token: str) -> Workspace | None:
        workspace = self._by_token.get(token) or self._members.get(token)
        if workspace is None:
            issued = self._issued.get(token)
            if issued is not None and issued[1] > self._clock():
                workspace = issued[0]
        if workspace is None or not workspace.alive:
            return None
        if self.expired(workspace):
            with self._lock:
                self._remove(workspace)
            self._release(workspace)
            return None
        workspace.last_used = self._clock()
        return workspace

    def recall(self, token: str) -> tuple[Workspace, Any] | None:
        """The workspace this process last found ``token`` selects, without asking the store, and
        what the request's journal entry must confirm still holds (``Journal.record(check=)``);
        None: ask (``by_bearer``). In memory every lookup is current: always None."""
        return None

    def is_admin(self, token: str) -> bool:
        """Every token but a workspace's non-admin (``-member``) token has admin access."""
        return token not in self._members

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int] | None:
        """An access token for a known client (client-credentials grant), else None."""
        workspace = self._by_client.get(client_id)
        if workspace is None or not secrets.compare_digest(workspace.client_secret, client_secret):
            return None
        token = f"sat_{secrets.token_urlsafe(32)}"
        with self._lock:
            now = self._clock()
            self._issued = {t: v for t, v in self._issued.items() if v[1] > now}
            self._issued[token] = (workspace, now + TOKEN_LIFETIME)
        return token, TOKEN_LIFETIME
