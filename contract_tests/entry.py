"""The ``contract-test`` console script: the kit's CLI, or a clear word when its extra is missing."""
from __future__ import annotations

import sys

KIT_MODULES = {"schemathesis", "hypothesis", "rich", "requests"}


def main() -> int:
    try:
        from .cli import main as run
    except ModuleNotFoundError as error:
        if error.name not in KIT_MODULES:
            raise
        print(f"contract-test: error: the kit needs {error.name}, which is not installed; "
              "install the kit extra: pip install 'api-sandbox[kit]'", file=sys.stderr)
        return 2
    return run()
