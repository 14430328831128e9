"""``--compare-sandbox``: the target's reads sent again to the in-process sandbox, side by side.

Per operation: how many cases answered a different status, and how many a body of a
different shape (keys and JSON types, items compared by their first element). Only reads
are replayed; differences are reported, never failed (the sandbox is one implementation).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from .http import Client
from .report import Report


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:0]


def compare(report: Report, recorded: list[tuple[Any, Any, Any]], sandbox_url: str,
            headers: dict[str, str], client: Client) -> None:
    stats: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0, ""])
    for op, case, response in recorded:
        if op.method != "get":
            continue
        theirs = case.call(session=client, base_url=sandbox_url, headers=headers)
        row = stats[op.label]
        row[0] += 1
        status_differs = theirs.status_code != response.status_code
        shape_differs = not status_differs and shape(_body(theirs)) != shape(_body(response))
        row[1] += status_differs
        row[2] += shape_differs
        if (status_differs or shape_differs) and not row[3]:
            row[3] = (f"{case.as_curl_command(headers=headers)}  "
                      f"(target {response.status_code}, sandbox {theirs.status_code})")
    lines = ["compared with the sandbox (reads only):"]
    for label, (cases, statuses, shapes, example) in sorted(stats.items()):
        lines.append(f"  {label}: {cases} cases, {statuses} with another status, {shapes} with another shape")
        if example:
            lines.append(f"    e.g. {example}")
    report.parity = lines
