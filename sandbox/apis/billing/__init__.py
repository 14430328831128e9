"""The billing API (documents 000 and 003): a customer's businesses and addresses."""
from __future__ import annotations

from typing import Any

from fixtures import billing as fixtures

from ...engine.api import ApiDefinition, Context
from ...engine.errors import ApiError
from ...engine.pagination import Page
from ...engine.store import Workspace
from . import handlers

DOCUMENTED_CUSTOMER = "cus_01h1w8r7s2v4l5m6n7p8j9k0q2"


def render_error(error: ApiError) -> dict[str, Any]:
    return {"error": {"status": error.status, "code": error.code, "message": error.message,
                      "details": [d.as_dict() for d in error.details]}}


def envelope(page: Page, ctx: Context) -> dict[str, Any]:
    """Offset pages: ``x-sandbox.items`` names the list, ``x-sandbox.echo`` the path ids shown beside it."""
    body: dict[str, Any] = {name: ctx.path[name] for name in ctx.op.sandbox.get("echo", [])}
    body[ctx.op.sandbox.get("items", "data")] = page.items
    body.update(limit=page.limit, offset=page.offset)
    return body


def summarize(workspace: Workspace) -> dict[str, list[str]]:
    customers = workspace.collection("billing", "customers")
    ids = [DOCUMENTED_CUSTOMER] if DOCUMENTED_CUSTOMER in customers else []
    ids += [c["id"] for c in customers.values() if c["id"] != DOCUMENTED_CUSTOMER][: 5 - len(ids)]
    return {"customer_ids": ids}


API = ApiDefinition(
    name="billing",
    handlers=handlers,
    render_error=render_error,
    envelope=envelope,
    fixtures=fixtures.build,
    summarize=summarize,
)
