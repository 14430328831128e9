"""The contract suite's target, resolved once from the environment (see target.py)."""
from __future__ import annotations

from .target import Target

TARGET = Target.from_env()
SCHEMAS = {api: TARGET.schema(api) for api in TARGET.apis}
