"""Credentials: without one, or with one the target cannot know, a secured read is the spec's 401.

Only reads are sent this way (a target that ignores auth must not be written to by it); the
401's body and Content-Type go through the same response checks as every other answer.
"""
from __future__ import annotations

from .judge import Judge
from .resolve import Resolver
from .spec import Op

INVALID_TOKEN = "contract-test-invalid-token"


def check_auth(judge: Judge, resolver: Resolver, op: Op) -> None:
    if op.method != "get" or not op.secured:
        return
    args = resolver.args(op)
    if args is None:
        return
    schemes = judge.spec.raw.get("components", {}).get("securitySchemes", {})
    # That a credential is required is the document's word when its security scheme is; that
    # the refusal is exactly a 401 is a decision where the spec marks its 401 response ours.
    scheme_ours = any(isinstance(schemes.get(name, {}).get("x-derived"), str)  # the whole scheme, not its tokenUrl
                      for requirement in op.node["security"] for name in requirement)
    status_ours = scheme_ours or "x-derived" in op.node.get("responses", {}).get("401", {"x-derived": "undocumented"})
    for label, headers in (("no credential", {"Authorization": None}),
                           ("an unknown token", {"Authorization": f"Bearer {INVALID_TOKEN}"})):
        case, response = judge.request(op, *args, headers=headers)
        refused = 400 <= response.status_code < 500
        judge.verify(op, "auth_required", response.status_code == 401,
                     f"with {label}: expected 401, got {response.status_code}", case,
                     derived=status_ours if refused else scheme_ours)
