"""A workspace's request journal: its recent requests, newest first, bounded in size.

Each entry says what was asked (method, path, query, operation) and how it went (status,
duration, and for a rejected request the problems found). Credentials are never kept:
headers are not recorded, and a query value that looks like a secret is redacted.
"""
from __future__ import annotations

import re
import threading
from collections import deque
from datetime import datetime, timezone
from typing import Any

from .errors import Detail

MAX_ERRORS = 20        # problems kept per entry (the response itself may list more)
MAX_VALUE = 200        # characters kept of a query value or an error message
_SECRET = re.compile(r"token|secret|password|authorization|api[_-]?key", re.IGNORECASE)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def redact_query(pairs: list[tuple[str, str]], secrets: tuple[str, ...]) -> dict[str, Any]:
    """The query as ``{name: value}`` (a list when repeated), secrets replaced, long values clipped."""
    query: dict[str, Any] = {}
    for name, value in pairs:
        value = "[redacted]" if _SECRET.search(name) or value in secrets else _clip(value)
        if name in query:
            previous = query[name]
            query[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            query[name] = value
    return query


class Journal:
    """The last ``size`` requests of one workspace."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, *, api: str, operation: str, method: str, path: str, query: dict[str, Any],
               status: int, duration_ms: float, errors: list[Detail] | None = None, check: Any = None) -> None:
        """Append the request's entry; ``check``: what the entry must confirm of a recalled
        lookup (``Registry.recall``; never given in memory)."""
        entry = {
            "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "api": api,
            "operation": operation,
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "errors": [{"field": _clip(d.field), "message": _clip(d.message)} for d in (errors or [])[:MAX_ERRORS]],
        }
        self._append(entry, check)

    def _append(self, entry: dict[str, Any], check: Any = None) -> None:
        with self._lock:
            self._entries.append(entry)

    def _newest_first(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._entries))

    def entries(self, *, api: str | None = None, operation: str | None = None, status: int | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Newest first, only those matching every given filter, at most ``limit``."""
        found = [e for e in self._newest_first()
                 if (api is None or e["api"] == api) and (operation is None or e["operation"] == operation)
                 and (status is None or e["status"] == status)]
        return found[:limit] if limit is not None else found
