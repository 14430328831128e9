"""Requests that run in the server's event-loop thread (``sandbox.bridge``) must never wait there.

The bridge marks such a request's environ ``INLINE``. Where a request would wait (a delay to
sleep, a lock another thread holds), it calls ``offload()`` instead, before it has changed
anything: the app answers nothing, the bridge sees ``OFFLOADED`` and runs the request again, from
the start, in a thread of its pool, where waiting holds up no one else. Outside the bridge (the
test client, the kit in process, any other WSGI server) nothing is inline and requests wait
where they are.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from flask import has_request_context, request

INLINE = "sandbox.inline"        # environ key: this request runs in the event loop's thread
OFFLOADED = "sandbox.offloaded"  # environ key: it stopped to be run again in a thread


class Offload(Exception):
    """Raised by a request running inline where it would wait; never an error a client sees."""


def inline() -> bool:
    return has_request_context() and request.environ.get(INLINE, False)


def offload() -> None:
    """Stop this request (it is run again in a thread); only ever called when ``inline()``."""
    request.environ[OFFLOADED] = True
    raise Offload()


@contextmanager
def held(lock: Any) -> Iterator[None]:
    """``with lock:``, except that an inline request offloads itself rather than wait for it."""
    if not lock.acquire(blocking=not inline()):
        offload()
    try:
        yield
    finally:
        lock.release()
