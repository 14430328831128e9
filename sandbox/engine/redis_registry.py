"""Workspaces in Redis (``--store redis://host:port/db``): every worker and replica pointing
at one Redis serves one consistent sandbox.

Keys (``<ns>`` is ``Settings.store_namespace``):

- ``<ns>:names`` name -> workspace id; ``<ns>:w:<id>`` its metadata (credentials, seed,
  scale, limits, scenario, generation); ``<ns>:tok:<token>`` -> id (``m:<id>`` for the
  non-admin token; issued OAuth2 tokens with a TTL); ``<ns>:client:<client id>`` -> id;
  ``<ns>:used`` last use of each expiring workspace (a sorted set, for idle expiry).
- ``<ns>:w:<id>:usage`` and ``<ns>:usage``: records written (the 507 limits);
  ``:state`` its id sequence and clock; ``:lock`` the write lock; ``:bucket``, ``:asleep``,
  ``:journal`` its request state (``redis_traffic``); ``:written`` the prefixes of the
  collections its generation has written (the others are read from each process's copy of
  the seeded data, ``redis_store``), returned by the authentication script.
- ``<ns>:d:<id>:<generation>:...`` what it wrote (``redis_store``); a reset starts a new
  generation (O(1)) and unlinks the old one's keys.
- ``sandbox-base:<data set key>:...`` the seeded data of one API for a (seed, scale),
  written once by whichever process first reads that API (under a SET NX build lock) and
  shared by every workspace of every namespace and process.

A write holds the workspace's Redis lock from its first read to its last write, so writes
to one workspace are serialised across processes and none is lost; if it fails, the
transaction's journal puts back every record (``store.Workspace.transaction``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import orjson
import redis

from .datacache import dataset_key
from .errors import Conflict, Detail, Unauthorized, Unavailable
from .redis_pipelined import Pipelined, Unanswered
from .redis_store import RedisCollection, RedisUsage, connect
from .redis_traffic import RedisTraffic
from .store import ByApi, Workspace, made_collections
from .workspaces import MEMBER_SUFFIX, TOKEN_LIFETIME, Dataset, Registry

if TYPE_CHECKING:
    from ..settings import Settings
    from .api import ApiDefinition

log = logging.getLogger("sandbox")
BASE_NS = "sandbox-base"
LOCK_TIMEOUT = 60      # seconds a write may hold its workspace's lock (then it expires: a killed process frees it)
LOCK_WAIT = 10         # seconds a write waits for the lock before a 503
LOCK_POLL = 0.001      # seconds between tries for a taken lock (redis-py's default, 0.1, makes writes queue)
BUILD_LOCK_TTL = 600   # seconds one process may take to write a seeded data set
POLL = 0.05            # seconds between looks at a data set another process is writing
_NO_TIME = datetime.min.replace(tzinfo=timezone.utc)
RECALLED = 10_000      # tokens whose last lookup a process remembers (``RedisRegistry.recall``)

_CREATE = """
local ns, wid, name = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HEXISTS', ns .. ':names', name) == 1 then return 'taken' end
if redis.call('HLEN', ns .. ':names') >= tonumber(ARGV[7]) then return 'full' end
redis.call('HSET', ns .. ':names', name, wid)
redis.call('SET', ns .. ':tok:' .. ARGV[4], wid)
redis.call('SET', ns .. ':tok:' .. ARGV[4] .. ARGV[6], 'm:' .. wid)
redis.call('SET', ns .. ':client:' .. ARGV[5], wid)
redis.call('HSET', ns .. ':w:' .. wid, unpack(ARGV, 10))
if ARGV[8] == '1' then redis.call('ZADD', ns .. ':used', ARGV[9], wid) end
return 'ok'
"""

_AUTH = """
local ns = ARGV[1]
local ref = redis.call('GET', ns .. ':tok:' .. ARGV[2])
if not ref then return false end
local member = 0
if string.sub(ref, 1, 2) == 'm:' then
  member = 1
  ref = string.sub(ref, 3)
end
local meta = redis.call('HGETALL', ns .. ':w:' .. ref)
if #meta == 0 then return false end
local last = redis.call('ZSCORE', ns .. ':used', ref)
local idle = tonumber(ARGV[4])
if last and idle > 0 and tonumber(ARGV[3]) - tonumber(last) > idle then
  return {ref, member, 'expired', meta, {}}
end
if last then redis.call('ZADD', ns .. ':used', ARGV[3], ref) end
return {ref, member, last or '', meta, redis.call('SMEMBERS', ns .. ':w:' .. ref .. ':written')}
"""

# A read's journal entry, appended only if the lookup the process recalled (``recall``) still
# holds: the token names the same workspace with the same access, its generation is the same and
# no collection has been written since (its ``:written`` set only grows within a generation), and
# it has not expired; then it is marked used, as the authentication script would have.
# KEYS: the token, the workspace's metadata, its written set, the used set, its journal;
# ARGV: the token's value, the generation, the written set's size, the id, now, idle expiry,
# the entry, the journal's size.
_CONFIRM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], 'generation') ~= ARGV[2] then return 0 end
if redis.call('SCARD', KEYS[3]) ~= tonumber(ARGV[3]) then return 0 end
local last = redis.call('ZSCORE', KEYS[4], ARGV[4])
if last then
  local idle = tonumber(ARGV[6])
  if idle > 0 and tonumber(ARGV[5]) - tonumber(last) > idle then return 0 end
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
end
redis.call('LPUSH', KEYS[5], ARGV[7])
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[8]) - 1)
return 1
"""

_REMOVE = """
local ns, wid = ARGV[1], ARGV[2]
local key = ns .. ':w:' .. wid
local meta = redis.call('HMGET', key, 'name', 'token', 'client_id')
if meta[1] and redis.call('HGET', ns .. ':names', meta[1]) == wid then redis.call('HDEL', ns .. ':names', meta[1]) end
local function drop(k, v)
  if redis.call('GET', k) == v then redis.call('DEL', k) end
end
if meta[2] then
  drop(ns .. ':tok:' .. meta[2], wid)
  drop(ns .. ':tok:' .. meta[2] .. ARGV[3], 'm:' .. wid)
end
if meta[3] then drop(ns .. ':client:' .. meta[3], wid) end
redis.call('ZREM', ns .. ':used', wid)
redis.call('UNLINK', key, key .. ':state', key .. ':bucket', key .. ':journal', key .. ':asleep', key .. ':written')
return 1
"""

# KEYS: the generation's key list, the workspace's usage, the total usage
_RELEASE = """
local keys = redis.call('SMEMBERS', KEYS[1])
for i = 1, #keys, 500 do redis.call('UNLINK', unpack(keys, i, math.min(i + 499, #keys))) end
redis.call('UNLINK', KEYS[1])
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('DECRBY', KEYS[3], n)
redis.call('SET', KEYS[2], 0)
return n
"""

# KEYS: the workspace's metadata, its state, its written collections
_NEXT_GENERATION = """
redis.call('DEL', KEYS[2], KEYS[3])
return redis.call('HINCRBY', KEYS[1], 'generation', 1)
"""


@dataclass(eq=False)
class RedisWorkspace(Workspace):
    """A workspace whose data, id sequence and clock live in Redis (see the module's docstring).

    ``lock`` (a thread lock) still serialises this process's requests to it; a write also
    holds the workspace's Redis lock, and reads its id sequence and clock from Redis first."""

    wid: str = ""
    generation: int = 0
    registry: "RedisRegistry | None" = field(default=None, repr=False)
    registered: bool = field(default=False, repr=False)
    _loaded: tuple[Any, datetime] | None = field(default=None, repr=False)
    _written: set[str] = field(default_factory=set, repr=False)  # prefixes of the collections written

    def cover(self, base: Dataset) -> None:
        assert self.registry is not None
        prefix = self.registry.data_prefix(self.wid, self.generation)
        written = self.registry.key("w", self.wid, "written")
        self._written = set()

        def overlays(api: str) -> dict[str, Any]:
            made = {name: coll.overlay(f"{prefix}:{api}:{name}", self.usage, f"{prefix}:keys", written)  # type: ignore[call-arg]
                    for name, coll in base[api].items()}
            self._mark_written(made.values())
            return self._journaled(made)

        self.collections = ByApi(base, overlays)

    def touch(self, written: list[bytes]) -> None:
        """Mark the collections named in its ``:written`` set (prefixes, generation included:
        another generation's names none) as read from Redis from now on: those made, and those
        made later (an API's overlays are made when it is first read)."""
        self._written |= {p.decode() for p in written}
        if self._written:
            self._mark_written(made_collections(self.collections))

    def _mark_written(self, collections: Iterable[Any]) -> None:
        for collection in collections:
            if collection.prefix in self._written:
                collection.touched = True

    def restart_ids(self, salt: str = "") -> None:
        super().restart_ids(salt)
        if self.registry is not None and self.registered and self._journal is None:
            self.registry.save_state(self)  # outside a write: kept at once

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._journal is not None or self.registry is None:
            with super().transaction():
                yield
            return
        lock = self.registry.client.lock(self.registry.key("w", self.wid, "lock"), timeout=LOCK_TIMEOUT,
                                         sleep=LOCK_POLL, blocking_timeout=LOCK_WAIT)
        if not lock.acquire():
            raise Unavailable("Another write to this workspace is taking long; retry in a moment.",
                              [Detail("workspace", "busy")])
        try:
            self.registry.load_state(self)
            with super().transaction():
                yield
            self.registry.save_state(self)
        finally:
            try:
                lock.release()
            except (redis.exceptions.LockError, Unavailable):
                pass  # expired (the write took longer than LOCK_TIMEOUT) or Redis went away


class RedisRegistry(Registry):
    """``workspaces.Registry`` with every workspace, token and counter in Redis."""

    _clock = staticmethod(time.time)  # shared by processes, unlike a monotonic clock

    def __init__(self, apis: list["ApiDefinition"], settings: "Settings") -> None:
        self.client = connect(settings.store)
        self.ns = settings.store_namespace
        self._bases: dict[tuple[int, int], Dataset] = {}
        self._bases_lock = threading.Lock()
        self._local: dict[str, RedisWorkspace] = {}  # this process's objects, by workspace id
        self._local_lock = threading.Lock()
        self._seen = threading.local()  # the last token by_bearer resolved, and whether it is admin
        self._known: dict[str, tuple[str, bool, int, int]] = {}  # token -> (id, member, generation, written)
        script = self.client.register_script
        self._create, self._auth, self._remove_script = script(_CREATE), script(_AUTH), script(_REMOVE)
        self._confirm = script(_CONFIRM)
        pool = self.client.connection_pool
        # the journal entry that confirms a recalled lookup, sent from the server's event loop
        self._pipelined = (Pipelined(pool.connection_kwargs, {self._confirm.sha: _CONFIRM})
                           if Pipelined.supports(pool.connection_class) else None)
        self._release_script, self._next_generation = script(_RELEASE), script(_NEXT_GENERATION)
        super().__init__(apis, settings)

    def key(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    def data_prefix(self, wid: str, generation: int) -> str:
        return self.key("d", wid, str(generation))

    # -- shared data sets ----------------------------------------------------------------

    def _dataset(self, seed: int, scale: int) -> Dataset:
        """The base collections of (seed, scale) in Redis, each API's written there once, by
        the first process to read it, if missing."""
        with self._bases_lock:
            dataset = self._bases.get((seed, scale))
            if dataset is None:
                apis = {api.name: api for api in self.apis}
                dataset = self._bases[(seed, scale)] = ByApi(apis, lambda name: self._stored(seed, scale, apis[name]))
            return dataset

    def _stored(self, seed: int, scale: int, api: "ApiDefinition") -> dict[str, RedisCollection]:
        """One API's base collections of (seed, scale), written into Redis if no process did yet."""
        scenarios = hashlib.sha256(json.dumps(self._scenarios, sort_keys=True, default=str).encode())
        prefix = f"{BASE_NS}:{dataset_key(api.name, seed, scale, self.settings.today)}-{scenarios.hexdigest()[:12]}"
        collections = {name: RedisCollection(self.client, c.name, c.order, c.parent_field, f"{prefix}:{name}")
                       for name, c in api.new_collections().items()}
        if not collections:
            return collections  # an API without data (the control API): nothing to keep
        ready, building = f"{prefix}:ready", f"{prefix}:building"
        me = secrets.token_hex(8)
        while not self.client.exists(ready):
            if not self.client.set(building, me, nx=True, ex=BUILD_LOCK_TTL):
                time.sleep(POLL)  # another process is writing it
                continue
            try:
                if not self.client.exists(ready):
                    for name, collection in self._build(seed, scale, api).items():
                        collections[name].fill(list(collection.values()))
                    self.client.set(ready, 1)
            finally:
                if self.client.get(building) == me.encode():
                    self.client.delete(building)
        for collection in collections.values():
            collection.frozen = True
        return collections

    # -- workspaces ----------------------------------------------------------------------

    def _total_usage(self) -> RedisUsage:  # type: ignore[override]
        return RedisUsage(self.client, self.key("usage"))

    def _default(self) -> Workspace:
        try:
            return super()._default()
        except Conflict:  # another process made it: the same one, shared
            wid = self.client.hget(self.key("names"), "default").decode()
            workspace = self._object(wid, self.client.hgetall(self.key("w", wid)))
            if (workspace.seed, workspace.scale, workspace.token) != (self.settings.seed, self.settings.scale,
                                                                      self.settings.token):
                log.warning("sandbox: namespace %r of this Redis already has a default workspace (seed %s, "
                            "scale %s, its own token): serving it; give this sandbox another "
                            "SANDBOX_STORE_NAMESPACE for other settings", self.ns, workspace.seed, workspace.scale)
            return workspace

    def _new(self, **fields: Any) -> RedisWorkspace:
        wid = secrets.token_hex(8)
        prefix = self.key("w", wid)
        return RedisWorkspace(**fields, wid=wid, registry=self, last_used=self._clock(),
                              usage=RedisUsage(self.client, f"{prefix}:usage", self.usage),  # type: ignore[arg-type]
                              traffic=RedisTraffic(self.client, prefix, self.settings.journal_size))

    def _register(self, workspace: Workspace) -> None:
        assert isinstance(workspace, RedisWorkspace)
        meta = {"name": workspace.name, "token": workspace.token, "client_id": workspace.client_id,
                "client_secret": workspace.client_secret, "seed": workspace.seed, "scale": workspace.scale,
                "rate_limit": "" if workspace.rate_limit is None else repr(float(workspace.rate_limit)),
                "delay_ms": workspace.delay_ms, "expires": int(workspace.expires),
                "scenario": "" if workspace.scenario is None else orjson.dumps(workspace.scenario),
                "generation": workspace.generation}
        flat = [part for pair in meta.items() for part in pair]
        answer = self._create(args=[self.ns, workspace.wid, workspace.name, workspace.token, workspace.client_id,
                                    MEMBER_SUFFIX, self.settings.max_workspaces, int(workspace.expires),
                                    workspace.last_used, *flat])
        if answer != b"ok":
            self._check_room_for(workspace.name, may_sweep=False)  # says which, in the usual words
            raise Conflict("The workspace could not be registered; try again.", [Detail("workspace", "raced")])
        workspace.registered = True
        with self._local_lock:
            self._local[workspace.wid] = workspace

    def _object(self, wid: str, meta: dict[bytes, bytes], written: list[bytes] | None = None) -> RedisWorkspace:
        """This process's object for workspace ``wid``, made or moved to the stored generation,
        with the collections ``written`` (its ``:written`` set, read with ``meta``) touched."""
        generation = int(meta[b"generation"])
        with self._local_lock:
            workspace = self._local.get(wid)
            if workspace is None:
                fields = {k.decode(): v.decode() for k, v in meta.items()}
                scenario = fields["scenario"]
                workspace = RedisWorkspace(
                    name=fields["name"], token=fields["token"], client_id=fields["client_id"],
                    client_secret=fields["client_secret"], seed=int(fields["seed"]), scale=int(fields["scale"]),
                    rate_limit=float(fields["rate_limit"]) if fields["rate_limit"] else None,
                    delay_ms=int(fields["delay_ms"]), expires=fields["expires"] == "1",
                    scenario=orjson.loads(scenario) if scenario else None,
                    usage=RedisUsage(self.client, self.key("w", wid, "usage"), self.usage),  # type: ignore[arg-type]
                    traffic=RedisTraffic(self.client, self.key("w", wid), self.settings.journal_size),
                    wid=wid, generation=-1, registry=self)
                workspace.registered = True  # after __post_init__: its stored id sequence is kept
                self._local[wid] = workspace
            if workspace.generation != generation:
                workspace.generation = generation
                workspace.cover(self.dataset(workspace.seed, workspace.scale))
            if written:
                workspace.touch(written)
        return workspace

    def _name_taken(self, name: str) -> bool:
        return bool(self.client.hexists(self.key("names"), name))

    @property
    def count(self) -> int:
        return self.client.hlen(self.key("names"))

    def _start_over(self, workspace: Workspace) -> None:
        assert isinstance(workspace, RedisWorkspace)
        old = self.data_prefix(workspace.wid, workspace.generation)
        generation = self._next_generation(keys=[self.key("w", workspace.wid), self.key("w", workspace.wid, "state"),
                                                 self.key("w", workspace.wid, "written")])
        self._release_script(keys=[f"{old}:keys", workspace.usage.key, self.usage.key])  # type: ignore[attr-defined]
        workspace.generation = int(generation)
        workspace.cover(self.dataset(workspace.seed, workspace.scale))

    def _remove(self, workspace: Workspace) -> None:
        assert isinstance(workspace, RedisWorkspace)
        workspace.alive = False
        self._remove_script(args=[self.ns, workspace.wid, MEMBER_SUFFIX])
        with self._local_lock:
            self._local.pop(workspace.wid, None)

    def _release(self, workspace: Workspace) -> None:
        assert isinstance(workspace, RedisWorkspace)
        keys = f"{self.data_prefix(workspace.wid, workspace.generation)}:keys"
        self._release_script(keys=[keys, workspace.usage.key, self.usage.key])  # type: ignore[attr-defined]

    def sweep(self, force: bool = True) -> int:
        """Remove every workspace idle for longer than the expiry (any process's); returns how many."""
        now = self._clock()
        idle = self.settings.idle_expiry
        if idle <= 0 or (not force and now - self._swept < min(60, idle)):
            return 0
        self._swept = now
        gone = 0
        for wid in self.client.zrangebyscore(self.key("used"), "-inf", now - idle):
            meta = self.client.hgetall(self.key("w", wid.decode()))
            if not meta:
                self.client.zrem(self.key("used"), wid)
                continue
            workspace = self._object(wid.decode(), meta)
            self._remove(workspace)
            self._release(workspace)
            gone += 1
        return gone

    # -- id sequence and clock of a write ------------------------------------------------

    def load_state(self, workspace: RedisWorkspace) -> None:
        """Holding its write lock: the workspace's generation, id sequence, clock and written
        collections as stored (another process may have written since this request's
        authentication)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.key("w", workspace.wid), "generation")
        pipe.get(self.key("w", workspace.wid, "state"))
        pipe.smembers(self.key("w", workspace.wid, "written"))
        generation, state, written = pipe.execute()
        if workspace.registered:
            if generation is None:
                raise Unauthorized("The bearer token is not valid (unknown or expired).",
                                   [Detail("header.Authorization", "unknown or expired token")])
            if int(generation) != workspace.generation:
                workspace.generation = int(generation)
                workspace.cover(self.dataset(workspace.seed, workspace.scale))
        workspace.touch(list(written))
        if state is None:
            Workspace.restart_ids(workspace)
            workspace._last_now = _NO_TIME
        else:
            stored = orjson.loads(state)
            workspace.rng = random.Random()
            workspace.rng.setstate((stored["rng"][0], tuple(stored["rng"][1]), stored["rng"][2]))
            workspace._last_now = datetime.fromisoformat(stored["now"])
        workspace._loaded = (workspace.rng.getstate(), workspace._last_now)

    def save_state(self, workspace: RedisWorkspace) -> None:
        rng, now = workspace.rng.getstate(), workspace._last_now
        if workspace._loaded == (rng, now):
            return
        self.client.set(self.key("w", workspace.wid, "state"),
                        orjson.dumps({"rng": [rng[0], rng[1], rng[2]], "now": now.isoformat()}))
        workspace._loaded = (rng, now)

    # -- credentials ---------------------------------------------------------------------

    def by_bearer(self, token: str) -> Workspace | None:
        now = self._clock()
        found = self._auth(args=[self.ns, token, repr(now), self.settings.idle_expiry])
        self._seen.token = None
        with self._local_lock:
            self._known.pop(token, None)
        if not found:
            return None
        wid, member, last, flat, written = found
        workspace = self._object(wid.decode(), dict(zip(flat[::2], flat[1::2])), written)
        if last == b"expired":
            self._remove(workspace)
            self._release(workspace)
            return None
        workspace.last_used = now
        self._seen.token, self._seen.admin = token, not member
        with self._local_lock:
            if len(self._known) >= RECALLED:
                del self._known[next(iter(self._known))]  # the oldest
            self._known[token] = (workspace.wid, bool(member), workspace.generation, len(written))
        return workspace

    def recall(self, token: str) -> tuple[Workspace, Any] | None:
        """The workspace ``token`` selected at its last lookup here, if this process still has it
        at that generation, and the check its journal entry makes (``_CONFIRM``, awaited by the
        server's event loop: True if the entry was written)."""
        pipelined, known = self._pipelined, self._known.get(token)
        workspace = known and self._local.get(known[0])
        if pipelined is None or not known or workspace is None or workspace.generation != known[2] \
                or not workspace.alive:
            return None
        wid, member, generation, written = known
        now = self._clock()
        workspace.last_used = now
        self._seen.token, self._seen.admin = token, not member
        keys = [self.key("tok", token), self.key("w", wid), self.key("w", wid, "written"), self.key("used")]
        args = [f"m:{wid}" if member else wid, generation, written, wid, repr(now), self.settings.idle_expiry]

        async def check(journal: str, entry: bytes, size: int) -> bool:
            try:
                return await pipelined.evalsha(self._confirm.sha, [*keys, journal], [*args, entry, size]) == 1
            except Unanswered:
                return False  # run again through redis-py: a 503 if Redis is away

        return workspace, check

    def is_admin(self, token: str) -> bool:
        if getattr(self._seen, "token", None) == token:
            return self._seen.admin
        return not (self.client.get(self.key("tok", token)) or b"").startswith(b"m:")

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int] | None:
        wid = self.client.get(self.key("client", client_id))
        secret = wid and self.client.hget(self.key("w", wid.decode()), "client_secret")
        if not secret or not secrets.compare_digest(secret, client_secret.encode()):
            return None
        token = f"sat_{secrets.token_urlsafe(32)}"
        self.client.set(self.key("tok", token), wid, ex=TOKEN_LIFETIME)
        return token, TOKEN_LIFETIME
