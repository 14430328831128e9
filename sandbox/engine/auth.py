"""Bearer token -> workspace."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import Detail, Forbidden, Unauthorized
from .inline import inline
from .spec import Operation
from .store import Workspace

if TYPE_CHECKING:
    from flask import Request

    from .workspaces import Registry

_SEEN = "sandbox.bearer"  # environ key: (token, registry, workspace) of the request's lookup
CHECK = "sandbox.bearer.check"  # environ key: what the journal entry confirms of a recalled lookup


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _workspace_of(token: str, this: "Request", registry: "Registry", journaled: bool) -> Workspace | None:
    """``registry.by_bearer(token)``, once per request (kept in its environ): the controls and
    the view both authenticate, and with Redis each lookup is a round trip.

    A ``journaled`` request running inline (a read, in the server's event loop) takes the
    workspace the process remembers instead (``registry.recall``): its journal entry, written
    anyway, confirms the lookup in the same round trip, or, if anything it relied on changed
    (the token, a reset, a write by another process), is not written and the request is run
    again in a thread, looked up afresh (``RedisJournal``)."""
    seen = this.environ.get(_SEEN)
    if seen is not None and seen[0] == token and seen[1] is registry:
        return seen[2]
    recalled = registry.recall(token) if journaled and inline() else None
    if recalled is not None:
        workspace, this.environ[CHECK] = recalled
    else:
        workspace = registry.by_bearer(token)
    this.environ[_SEEN] = (token, registry, workspace)
    return workspace


def authenticate(op: Operation, this: "Request", registry: "Registry", realm: str,
                 admin_only: bool = False, journaled: bool = False) -> Workspace | None:
    """The caller of request ``this``'s workspace; None for an anonymous operation called without
    a token. ``admin_only``: a workspace's non-admin token is refused (403). ``journaled``: the
    caller records the request in the workspace's journal whatever happens (``_workspace_of``)."""
    token = bearer_token(this.headers.get("Authorization"))
    if token is None:
        if op.anonymous:
            return None
        raise Unauthorized(
            "A bearer token is required: send Authorization: Bearer <token>.",
            [Detail("header.Authorization", "missing, or not of the form 'Bearer <token>'")],
            {"WWW-Authenticate": f'Bearer realm="{realm}"'},
        )
    workspace = _workspace_of(token, this, registry, journaled)
    if workspace is None:
        if op.anonymous:
            return None
        raise Unauthorized(
            "The bearer token is not valid (unknown or expired).",
            [Detail("header.Authorization", "unknown or expired token")],
            {"WWW-Authenticate": f'Bearer realm="{realm}", error="invalid_token"'},
        )
    if admin_only and not registry.is_admin(token):
        raise Forbidden("This token has no admin access; use the workspace's admin token.",
                        [Detail("header.Authorization", "this token has no admin access")])
    return workspace
