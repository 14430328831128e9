"""The commerce API (document 001): JSON:API businesses of an organization, and the reads
that include a business. Automatic assignment is in ``assignment`` (the rule) and
``checkout`` (the sandbox's simulated checkout)."""
from __future__ import annotations

from typing import Any

from fixtures import commerce as fixtures

from ...engine.api import ApiDefinition, start_ids
from ...engine.store import Workspace
from . import handlers, jsonapi

MEDIA_TYPE = "application/vnd.api+json"


def build_fixtures(*args: Any) -> dict[str, list[dict[str, Any]]]:
    """``fixtures.commerce.build``, looked up when called: that module imports this package's
    rule (``assignment``), so it may still be loading while this package is."""
    return fixtures.build(*args)


def summarize(workspace: Workspace) -> dict[str, list[str]]:
    collections = workspace.collections["commerce"]
    return {"organization_ids": start_ids(collections["organizations"], first=fixtures.FIRST_ORGANIZATION),
            "business_ids": start_ids(collections["businesses"], parent=fixtures.FIRST_ORGANIZATION,
                                      first=fixtures.DOCUMENTED_BUSINESS)}


API = ApiDefinition(
    name="commerce",
    handlers=handlers,
    render_error=jsonapi.render_error,
    envelope=jsonapi.envelope,
    single=jsonapi.single,
    fixtures=build_fixtures,
    summarize=summarize,
    media_type=MEDIA_TYPE,
    admin_only=True,
    closed_query=True,
)
