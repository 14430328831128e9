"""The generic engine: knows OpenAPI, knows nothing about any one API."""
