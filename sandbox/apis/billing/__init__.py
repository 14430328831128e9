"""The billing API (documents 000 and 003): a customer's businesses and addresses."""
from __future__ import annotations

from typing import Any

from fixtures import billing as fixtures

from ...engine.api import ApiDefinition, Context, start_ids
from ...engine.errors import ApiError
from ...engine.pagination import Page
from ...engine.store import Workspace
from . import handlers

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
    return {"customer_ids": start_ids(customers, first=fixtures.DOCUMENTED_CUSTOMER)}


API = ApiDefinition(
    name="billing",
    handlers=handlers,
    render_error=render_error,
    envelope=envelope,
    fixtures=fixtures.build,
    summarize=summarize,
)
