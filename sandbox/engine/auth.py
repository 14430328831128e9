"""Bearer token -> workspace."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import g

from .errors import Detail, Forbidden, Unauthorized
from .spec import Operation
from .store import Workspace

if TYPE_CHECKING:
    from .workspaces import Registry


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _workspace_of(token: str, registry: "Registry") -> Workspace | None:
    """``registry.by_bearer(token)``, once per request: the controls and the view both
    authenticate, and with Redis each lookup is a round trip. The request's ``g`` is looked
    up once (each use of the proxy costs a lookup)."""
    try:
        request_globals = g._get_current_object()
    except RuntimeError:  # outside an application context: nothing to remember it in
        return registry.by_bearer(token)
    seen = request_globals.get("sandbox_bearer")
    if seen is not None and seen[0] == token and seen[1] is registry:
        return seen[2]
    workspace = registry.by_bearer(token)
    request_globals.sandbox_bearer = (token, registry, workspace)
    return workspace


def authenticate(op: Operation, authorization: str | None, registry: "Registry", realm: str,
                 admin_only: bool = False) -> Workspace | None:
    """The caller's workspace; None for an anonymous operation called without a token.
    ``admin_only``: a workspace's non-admin token is refused (403)."""
    token = bearer_token(authorization)
    if token is None:
        if op.anonymous:
            return None
        raise Unauthorized(
            "A bearer token is required: send Authorization: Bearer <token>.",
            [Detail("header.Authorization", "missing, or not of the form 'Bearer <token>'")],
            {"WWW-Authenticate": f'Bearer realm="{realm}"'},
        )
    workspace = _workspace_of(token, registry)
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
