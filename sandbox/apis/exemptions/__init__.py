"""The exemptions API (document 002): a corporation's customers, searchable by tax exemption."""
from __future__ import annotations

from typing import Any

from fixtures import exemptions as fixtures

from ...engine.api import ApiDefinition, Context, start_ids
from ...engine.errors import ApiError
from ...engine.pagination import Page
from ...engine.store import Workspace
from . import handlers

def render_error(error: ApiError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "errors": [d.as_dict() for d in error.details]}


def envelope(page: Page, ctx: Context) -> dict[str, Any]:
    """The document's example body: the page, the size of the whole filtered set, the next cursor."""
    return {"customers": page.items, "total_customers": page.total, "cursor": page.next_cursor}


def summarize(workspace: Workspace) -> dict[str, list[str]]:
    corporations = workspace.collection("exemptions", "corporations")
    return {"corporation_ids": start_ids(corporations, first=fixtures.DOCUMENTED_CORPORATION)}


API = ApiDefinition(
    name="exemptions",
    handlers=handlers,
    render_error=render_error,
    envelope=envelope,
    fixtures=fixtures.build,
    summarize=summarize,
)
