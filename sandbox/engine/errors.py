"""Typed errors: raised anywhere, rendered once per API in its documented shape."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_DETAILS = 50      # details listed in one error body; the rest are counted in the message
MAX_QUOTE = 80        # characters of a client's value quoted back in an error
MAX_MESSAGE = 2000    # characters of any one message


def quote(value: Any, limit: int = MAX_QUOTE) -> str:
    """``repr`` of a client's value, cut to a bounded prefix that says how long the whole was."""
    return shorten(repr(value), limit)


def shorten(text: str, limit: int = MAX_QUOTE) -> str:
    """``text`` itself if short, else its first ``limit`` characters and the full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Detail:
    """One problem with one part of a request: ``field`` is ``query.limit``, ``body.email``..."""

    field: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", shorten(self.field, MAX_QUOTE * 2))
        object.__setattr__(self, "message", shorten(self.message, MAX_MESSAGE // 4))

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class ApiError(Exception):
    """An error the client caused; ``code`` is the machine-readable name in every shape."""

    message: str
    details: list[Detail] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    omitted: int = 0  # problems found beyond the details listed
    status = 400
    code = "invalid_request"

    def __post_init__(self) -> None:
        """Bounded output whatever the input: at most MAX_DETAILS details, messages cut."""
        if len(self.details) > MAX_DETAILS:
            self.omitted += len(self.details) - MAX_DETAILS
            self.details = self.details[:MAX_DETAILS]
        self.message = shorten(self.message, MAX_MESSAGE)
        if self.omitted:
            shown = len(self.details)
            self.message += f" (the details list the first {shown} of {shown + self.omitted} problems)"

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


# Over a size limit: the status says which; the code is one every API's error shape already
# documents (the specs enumerate their codes), so these bodies stay in each API's shape.

class PayloadTooLarge(ApiError):
    status, code = 413, "invalid_request"


class UriTooLong(ApiError):
    status, code = 414, "invalid_request"


class HeadersTooLarge(ApiError):
    status, code = 431, "invalid_request"


class ValidationFailed(ApiError):
    status, code = 422, "validation_failed"


class TooManyRequests(ApiError):
    status, code = 429, "rate_limited"


class InsufficientStorage(ApiError):
    status, code = 507, "insufficient_storage"


class Unavailable(ApiError):
    """The store (Redis) is down or restarting: retry shortly (service resumes by itself)."""

    status, code = 503, "service_unavailable"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.headers.setdefault("Retry-After", "1")
        if not self.details:
            self.details = [Detail("store", "not answering")]


class ServerError(ApiError):
    """The sandbox itself failed: a bug, but still answered in the API's shape."""

    status, code = 500, "internal_error"


def summarize(details: list[Detail], total: int | None = None, limit: int = 10) -> str:
    """A one-line message naming the first ``limit`` problems: ``query.limit: 0 is less than ...``."""
    text = "; ".join(f"{d.field}: {d.message}" for d in details[:limit])
    more = (len(details) if total is None else total) - min(limit, len(details))
    return text + (f"; and {more} more" if more > 0 else "")


class Problems:
    """Collects details up to MAX_DETAILS and counts the rest, so a huge input costs no huge error."""

    def __init__(self) -> None:
        self.shown: list[Detail] = []
        self.total = 0

    def add(self, *details: Detail) -> None:
        for detail in details:
            self.total += 1
            if len(self.shown) < MAX_DETAILS:
                self.shown.append(detail)

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_as(self, error: type[ApiError], prefix: str = "") -> None:
        """Raise ``error`` naming the problems (with how many were not listed), if there are any."""
        if self:
            raise error(prefix + summarize(self.shown, self.total), self.shown, omitted=self.total - len(self.shown))


def flat_body(error: ApiError) -> dict:
    """``{"error": code, "message": ..., "details": [...]}``: the payments and control-API shape."""
    return {"error": error.code, "message": error.message, "details": [d.as_dict() for d in error.details]}
