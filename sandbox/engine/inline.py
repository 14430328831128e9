"""Requests that run in the server's event-loop thread (``sandbox.bridge``) must never wait there.

The bridge runs such a request ``inlined()``. Where a request would wait (a delay to sleep, a
lock another thread holds, a data set to build), it calls ``offload()`` instead, before it has
changed anything: the app answers nothing, the bridge sees it was offloaded and runs the request
again, from the start, in a thread of its pool, where waiting holds up no one else. Outside the
bridge (the test client, the kit in process, any other WSGI server) nothing is inline and
requests wait where they are.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Iterator

_run: ContextVar["Inline | None"] = ContextVar("sandbox_inline", default=None)


class Offload(Exception):
    """Raised by a request running inline where it would wait; never an error a client sees."""


class Inline:
    """One request's run in the event loop's thread; ``offloaded``: it stopped to run in a thread;
    ``carried``: environ entries its run again starts with (``carry``); ``after``: what the bridge
    awaits before the answer goes out (``defer``)."""

    __slots__ = ("offloaded", "carried", "after")

    def __init__(self) -> None:
        self.offloaded = False
        self.carried: dict[str, Any] = {}
        self.after: Callable[[], Awaitable[bool]] | None = None


@contextmanager
def inlined() -> Iterator[Inline]:
    """The block runs a request inline (the bridge, in its event loop's thread)."""
    run = Inline()
    token = _run.set(run)
    try:
        yield run
    finally:
        _run.reset(token)


def inline() -> bool:
    return _run.get() is not None


def carry(key: str, value: Any) -> None:
    """Tell the request's run again (if it is offloaded later) what this run already did, in its
    environ: a rate-limit token taken is not taken twice. A no-op outside an inline run."""
    run = _run.get()
    if run is not None:
        run.carried[key] = value


def offload() -> None:
    """Stop this request (it is run again in a thread); a no-op outside an inline run."""
    run = _run.get()
    if run is not None:
        run.offloaded = True
        raise Offload()


def defer(after: Callable[[], Awaitable[bool]]) -> None:
    """Leave the request's last step, a round trip, to the bridge: it awaits ``after()`` while
    its loop serves others, then sends the answer, or, if ``after()`` says False (or fails),
    runs the request again in a thread. Only an inline run may defer."""
    run = _run.get()
    if run is None or run.after is not None:
        raise RuntimeError("only a request running inline may defer, and one step only")
    run.after = after


@contextmanager
def held(lock: Any) -> Iterator[None]:
    """``with lock:``, except that an inline request offloads itself rather than wait for it."""
    if not lock.acquire(blocking=not inline()):
        offload()
    try:
        yield
    finally:
        lock.release()
