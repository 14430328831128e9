"""Typed errors: raised anywhere, rendered once per API in its documented shape."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Detail:
    """One problem with one part of a request: ``field`` is ``query.limit``, ``body.email``..."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class ApiError(Exception):
    """An error the client caused; ``code`` is the machine-readable name in every shape."""

    message: str
    details: list[Detail] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    status = 400
    code = "invalid_request"

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class BadRequest(ApiError):
    status, code = 400, "invalid_request"


class InvalidCursor(ApiError):
    status, code = 400, "invalid_cursor"


class UnsupportedGrantType(ApiError):
    status, code = 400, "unsupported_grant_type"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class InvalidClient(ApiError):
    status, code = 401, "invalid_client"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class Conflict(ApiError):
    status, code = 409, "conflict"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(ApiError):
    status, code = 422, "validation_failed"


class TooManyRequests(ApiError):
    status, code = 429, "rate_limited"


class InsufficientStorage(ApiError):
    status, code = 507, "insufficient_storage"


def summarize(details: list[Detail]) -> str:
    """A one-line message naming every problem: ``query.limit: 0 is less than ...``."""
    return "; ".join(f"{d.field}: {d.message}" for d in details)


def flat_body(error: ApiError) -> dict:
    """``{"error": code, "message": ..., "details": [...]}``: the payments and control-API shape."""
    return {"error": error.code, "message": error.message, "details": [d.as_dict() for d in error.details]}
