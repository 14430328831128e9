"""The exemptions API (document 002): a corporation's customers, searchable by tax exemption."""
from __future__ import annotations

from typing import Any

from fixtures import exemptions as fixtures

from ...engine.api import ApiDefinition, Context
from ...engine.errors import ApiError
from ...engine.pagination import Page
from ...engine.store import Workspace
from . import handlers

DOCUMENTED_CORPORATION = "corp_123"


def render_error(error: ApiError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "errors": [d.as_dict() for d in error.details]}


def envelope(page: Page, ctx: Context) -> dict[str, Any]:
    """The document's example body: the page, the size of the whole filtered set, the next cursor."""
    return {"customers": page.items, "total_customers": page.total, "cursor": page.next_cursor}


def summarize(workspace: Workspace) -> dict[str, list[str]]:
    corporations = [c["id"] for c in workspace.collection("exemptions", "corporations").values()]
    corporations.sort(key=lambda i: i != DOCUMENTED_CORPORATION)
    return {"corporation_ids": corporations[:5]}


API = ApiDefinition(
    name="exemptions",
    handlers=handlers,
    render_error=render_error,
    envelope=envelope,
    fixtures=fixtures.build,
    summarize=summarize,
)
