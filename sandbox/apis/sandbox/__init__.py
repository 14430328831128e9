"""The sandbox's own control API (``openapi/sandbox.yaml``), mounted at ``/_sandbox``."""
from __future__ import annotations

from ...engine.api import ApiDefinition
from ...engine.errors import flat_body
from . import handlers

API = ApiDefinition(name="sandbox", prefix="/_sandbox", handlers=handlers, render_error=flat_body,
                  controls=False)
