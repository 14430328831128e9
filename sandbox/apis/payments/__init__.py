"""The payments API (document 004): customers with archive/restore, payment methods, users."""
from __future__ import annotations

from typing import Any

from fixtures import payments as fixtures

from ...engine.api import ApiDefinition, Context, start_ids
from ...engine.errors import ApiError, flat_body
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


OAUTH2_CODES = frozenset({"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                          "unsupported_grant_type", "invalid_scope"})
UNAVAILABLE = 503  # the store is down: RFC 6749 §4.1.2.1's temporarily_unavailable, status kept


TRANSPORT_LIMITS = frozenset({413, 414, 429, 431})


def oauth2_error(error: ApiError) -> tuple[int, dict[str, str]]:
    """Any error of the token route as RFC 6749 §5.2 has it: 401 ``invalid_client`` or a 400;
    every other problem (a missing parameter, a wrong media type, ...) is ``invalid_request``.
    HTTP's own limits keep their status (413, 414, 429, 431): they are not the grant's errors;
    a store outage is a 503 ``temporarily_unavailable`` (§4.1.2.1's code).
    ``error_description`` keeps to the characters §5.2 allows: printable ASCII but quote and backslash."""
    if error.status == UNAVAILABLE:
        code = "temporarily_unavailable"
    else:
        code = error.code if error.code in OAUTH2_CODES else "invalid_request"
    text = error.message.replace('"', "'").replace("\\", "/")
    description = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    status = error.status if error.status in TRANSPORT_LIMITS or error.status == UNAVAILABLE else 401 if code == "invalid_client" else 400
    return status, {"error": code, "error_description": description}


def summarize(workspace: Workspace) -> dict[str, list[str]]:
    customers = workspace.collection("payments", "customers")
    return {"customer_ids": start_ids(customers, keep=lambda c: c["status"] == "active")}


API = ApiDefinition(
    name="payments",
    handlers=handlers,
    render_error=flat_body,
    error_shapes={"oauth2": oauth2_error},
    envelope=envelope,
    fixtures=fixtures.build,
    summarize=summarize,
)
