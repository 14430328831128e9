"""Every API the sandbox serves: one sub-package each, exporting ``API`` (an ApiDefinition).

Adding an API is a new spec in ``openapi/`` plus a new folder here; the engine finds it.
"""
from __future__ import annotations

import importlib
import pkgutil

from ..engine.api import ApiDefinition


def discover() -> list[ApiDefinition]:
    """Import ``sandbox.apis.<name>`` for every sub-package (sorted) and load its spec."""
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.ispkg:
            api = importlib.import_module(f"{__name__}.{module.name}").API
            found.append(api.load())
    return found
