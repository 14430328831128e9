"""What a partner can make the sandbox do on purpose, on every operation of every API.

- ``Prefer: code=N`` / ``Prefer: example=NAME`` (RFC 7240): answer a documented status or
  a named example of the spec (see ``forced``). The request is validated first, unless the
  forced status is one validation itself answers (400, 413, 415, 422).
- ``Prefer: delay=MS`` and the workspace's ``delay_ms``: latency, slept in the request's
  own thread holding no lock (a request the server runs in its event loop's thread is moved to
  a thread of its pool first: ``engine.inline``); a workspace may have only ``max_delayed`` requests asleep
  at once, so one workspace cannot occupy every server thread.
- The workspace's ``rate_limit`` (requests per second, a token bucket of one second's
  worth): over it, 429 with ``Retry-After`` in the API's error shape.
- The journal (``journal``): every request of a workspace, for ``GET /_sandbox/requests``.
- The record limits: a write is refused with 507 once its workspace (or the sandbox) holds
  its limit of written records, before anything is changed.

Applied by wrapping each operation's view (``controlled``); an API that sets
``controls=False`` (the control API itself) is served without them.
"""
from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from flask import Response

from .auth import CHECK, authenticate
from .errors import ApiError, BadRequest, Detail, TooManyRequests
from .forced import ForcedResponses
from .inline import Offload, carry, offload
from .journal import Journal, redact_query
from .validation import RequestValidator

if TYPE_CHECKING:
    from flask import Request

    from ..settings import Settings
    from .api import ApiDefinition
    from .spec import Operation
    from .store import Workspace
    from .workspaces import Registry

VALIDATION_STATUSES = frozenset({400, 413, 415, 422})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PREFERENCE = re.compile(r'^\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*(?:=\s*("[^"]*"|[^\s;"]*))?\s*(?:;.*)?$')
_PREFERENCE_ITEM = re.compile(r'(?:[^,"]|"[^"]*")+')  # one comma-separated preference, quotes kept whole
_traffic_lock = threading.Lock()


@dataclass
class Preferences:
    """The ``Prefer`` tokens the sandbox honours (others are ignored, as RFC 7240 asks)."""

    code: int | None = None
    example: str | None = None
    delay: int | None = None
    applied: list[str] = field(default_factory=list)


NO_PREFERENCES = Preferences()  # a request without a Prefer header (never changed)
ADMITTED = "sandbox.admitted"   # environ key: the request took its rate-limit token in an inline run


def _split_preferences(values: list[str]) -> list[str]:
    """Comma-separated preferences of every ``Prefer`` header, commas in quotes kept."""
    return [p for value in values for p in _PREFERENCE_ITEM.findall(value) if p.strip()]


def parse_prefer(values: list[str], max_delay_ms: int) -> Preferences:
    prefs = Preferences()
    for text in _split_preferences(values):
        match = _PREFERENCE.match(text)
        if match is None:
            continue
        token, value = match.group(1).lower(), (match.group(2) or "").strip('"')
        if token not in ("code", "example", "delay"):
            continue
        problem = _set(prefs, token, value, max_delay_ms)
        if problem:
            raise BadRequest(f"Prefer: {token}={value}: {problem}.", [Detail("header.Prefer", f"{token}: {problem}")])
        prefs.applied.append(f"{token}={value}")
    if prefs.code is not None and prefs.example is not None:
        raise BadRequest("Prefer: give code= or example=, not both.",
                         [Detail("header.Prefer", "code and example cannot be combined")])
    return prefs


def _set(prefs: Preferences, token: str, value: str, max_delay_ms: int) -> str | None:
    if token == "example":
        if not value:
            return "needs the name of an example of the spec"
        prefs.example = value
        return None
    if not value.isdigit():
        return "must be a whole number"
    number = int(value)
    if token == "code":
        if not 100 <= number <= 599:
            return "must be an HTTP status code (100-599)"
        prefs.code = number
    else:
        if number > max_delay_ms:
            return f"must be at most {max_delay_ms} milliseconds"
        prefs.delay = number
    return None


class Traffic:
    """One workspace's request state: its journal, rate-limit bucket and delayed requests."""

    def __init__(self, journal_size: int) -> None:
        self.journal = Journal(journal_size)
        self._lock = threading.Lock()
        self._tokens: float | None = None
        self._stamp = time.monotonic()
        self._asleep = 0

    def admit(self, rate: float | None) -> None:
        """Take one request from the bucket, or raise 429 saying when to retry."""
        if rate is None:
            return
        tokens = self._take(rate)
        if tokens is None:
            return
        wait = math.ceil((1 - tokens) / rate)
        raise TooManyRequests(
            f"This workspace is limited to {rate:g} requests per second; retry after {wait} s.",
            [Detail("workspace.rate_limit", f"{rate:g} requests per second")], {"Retry-After": str(wait)})

    def _take(self, rate: float) -> float | None:
        """None if a token was taken from the bucket, else the tokens left (under one)."""
        with self._lock:
            now = time.monotonic()
            capacity = max(1.0, rate)
            tokens = capacity if self._tokens is None else min(capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            if tokens >= 1:
                self._tokens = tokens - 1
                return None
            self._tokens = tokens
            return tokens

    def sleep(self, delay_ms: int, max_asleep: int) -> None:
        """Wait ``delay_ms`` in this thread, holding no lock; 429 if too many are asleep already."""
        if delay_ms <= 0:
            return
        asleep = self._enter()
        if asleep > max_asleep:
            self._leave()
            wait = max(1, math.ceil(delay_ms / 1000))
            raise TooManyRequests(
                f"{asleep - 1} delayed requests of this workspace are already waiting (at most {max_asleep} "
                f"at once); retry after {wait} s.",
                [Detail("header.Prefer", f"at most {max_asleep} delayed requests at once")],
                {"Retry-After": str(wait)})
        try:
            time.sleep(delay_ms / 1000)
        finally:
            self._leave()

    @property
    def asleep(self) -> int:
        """Requests of the workspace delayed right now."""
        return self._asleep

    def _enter(self) -> int:
        """Count one more request asleep; returns how many are, this one included."""
        with self._lock:
            self._asleep += 1
            return self._asleep

    def _leave(self) -> None:
        with self._lock:
            self._asleep -= 1


def traffic_of(workspace: "Workspace", settings: "Settings") -> Traffic:
    if workspace.traffic is None:
        with _traffic_lock:
            if workspace.traffic is None:
                workspace.traffic = Traffic(settings.journal_size)
    return workspace.traffic


def canned_response(canned, applied: list[str]) -> Response:
    from .routing import json_response

    response = json_response(canned.body, canned.status, {**canned.headers, "Preference-Applied": ", ".join(applied)})
    response.mimetype = canned.media_type
    return response


def controlled(api: "ApiDefinition", op: "Operation", registry: "Registry", settings: "Settings",
               view: Callable[..., Response]) -> Callable[..., Response]:
    """``view`` with Prefer, latency, rate limits, record limits and the journal around it."""
    if not api.controls:
        return view
    forced = ForcedResponses(api, op)
    validators: list[RequestValidator] = []  # compiled on the first forced request only

    def validate(this: "Request", path_args: dict[str, str]) -> None:
        if not validators:
            validators.append(RequestValidator(op, check=settings.validate))
        validators[0](path_args, this.args, this.headers, this.mimetype, lambda: this.get_data(cache=True))

    def answer(this: "Request", workspace: "Workspace | None", path_args: dict[str, str]) -> Response:
        prefs = (parse_prefer(this.headers.getlist("Prefer"), settings.max_delay_ms)  # getlist walks every header
                 if "HTTP_PREFER" in this.environ else NO_PREFERENCES)
        if workspace is not None:
            delay = prefs.delay if prefs.delay is not None else workspace.delay_ms
            if delay > 0:
                offload()  # inline: before anything is counted, the request starts again in a thread, to sleep there
            traffic = traffic_of(workspace, settings)
            if not this.environ.get(ADMITTED):  # offloaded after it was admitted inline: admitted once
                traffic.admit(workspace.rate_limit)
                carry(ADMITTED, True)
            if this.method not in SAFE_METHODS:
                registry.check_room(workspace)
            traffic.sleep(delay, settings.max_delayed)
        if prefs.code is None and prefs.example is None:
            response = view(this, **path_args)
            if prefs.applied:
                response.headers["Preference-Applied"] = ", ".join(prefs.applied)
            return response
        canned = forced.for_code(prefs.code) if prefs.code is not None else forced.for_example(prefs.example or "")
        if canned.status not in VALIDATION_STATUSES:
            validate(this, path_args)
        return canned_response(canned, prefs.applied)

    def wrapper(this: "Request", **path_args: str) -> Response:
        started = time.perf_counter()
        workspace = authenticate(op, this, registry, api.name, journaled=True)
        status, errors = 500, None
        try:
            response = answer(this, workspace, path_args)
            status = response.status_code
            return response
        except ApiError as error:
            status, errors = error.status, error.details
            raise
        except Offload:
            workspace = None  # not answered here: journaled when it is, in a thread
            raise
        finally:
            if workspace is not None:
                traffic_of(workspace, settings).journal.record(
                    api=api.name, operation=op.operation_id, method=this.method, path=this.path,
                    query=redact_query(list(this.args.items(multi=True)), (workspace.token,)),
                    status=status, duration_ms=(time.perf_counter() - started) * 1000, errors=errors,
                    check=this.environ.get(CHECK))

    wrapper.__name__ = op.operation_id
    return wrapper


def journal_entries(workspace: "Workspace", settings: "Settings", **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """The workspace's journal, filtered (``api``, ``operation``, ``status``, ``limit``), and its capacity."""
    journal = traffic_of(workspace, settings).journal
    return journal.entries(**filters), journal.size
