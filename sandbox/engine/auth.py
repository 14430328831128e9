"""Bearer token -> workspace."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import Detail, Forbidden, Unauthorized
from .spec import Operation
from .store import Workspace

if TYPE_CHECKING:
    from flask import Request

    from .workspaces import Registry

_SEEN = "sandbox.bearer"  # environ key: (token, registry, workspace) of the request's lookup


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _workspace_of(token: str, this: "Request", registry: "Registry") -> Workspace | None:
    """``registry.by_bearer(token)``, once per request (kept in its environ): the controls and
    the view both authenticate, and with Redis each lookup is a round trip."""
    seen = this.environ.get(_SEEN)
    if seen is not None and seen[0] == token and seen[1] is registry:
        return seen[2]
    workspace = registry.by_bearer(token)
    this.environ[_SEEN] = (token, registry, workspace)
    return workspace


def authenticate(op: Operation, this: "Request", registry: "Registry", realm: str,
                 admin_only: bool = False) -> Workspace | None:
    """The caller of request ``this``'s workspace; None for an anonymous operation called without
    a token. ``admin_only``: a workspace's non-admin token is refused (403)."""
    token = bearer_token(this.headers.get("Authorization"))
    if token is None:
        if op.anonymous:
            return None
        raise Unauthorized(
            "A bearer token is required: send Authorization: Bearer <token>.",
            [Detail("header.Authorization", "missing, or not of the form 'Bearer <token>'")],
            {"WWW-Authenticate": f'Bearer realm="{realm}"'},
        )
    workspace = _workspace_of(token, this, registry)
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
