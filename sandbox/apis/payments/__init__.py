"""The payments API (document 004): customers with archive/restore, payment methods, users."""
from __future__ import annotations

from typing import Any

from fixtures import payments as fixtures

from ...engine.api import ApiDefinition, Context, start_ids
from ...engine.errors import flat_body
from ...engine.pagination import Page
from ...engine.store import Workspace
from . import handlers


def envelope(page: Page, ctx: Context) -> dict[str, Any]:
    """The one list shape of payments: ``data`` plus connection-style ``page_info``."""
    return {
        "data": page.items,
        "page_info": {
            "start_cursor": page.start_cursor,
            "end_cursor": page.end_cursor,
            "has_next_page": page.has_next,
            "has_previous_page": page.has_previous,
        },
    }


def summarize(workspace: Workspace) -> dict[str, list[str]]:
    customers = workspace.collection("payments", "customers").values()
    return {"customer_ids": start_ids(customers, keep=lambda c: c["status"] == "active")}


API = ApiDefinition(
    name="payments",
    handlers=handlers,
    render_error=flat_body,
    envelope=envelope,
    fixtures=fixtures.build,
    summarize=summarize,
)
