"""The specs, shipped as the package ``sandbox.openapi`` (see setup.py); this folder stays their home."""
