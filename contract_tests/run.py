"""One run of the kit against one API: generated cases, then lists, credentials and writes."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .access import check_auth
from .fuzz import fuzz_operation
from .http import Client
from .judge import Judge
from .lists import ListProbe
from .report import Report
from .resolve import Resolver
from .spec import ApiSpec, Op
from .stateful import has_links, run_stateful
from .writes import WriteProbe


@dataclass
class Options:
    seed: int = 42
    max_examples: int = 25
    read_only: bool = False
    strict: bool = False
    known: dict[str, Any] = field(default_factory=dict)  # parameter name -> value


Progress = Callable[[str, int, int], None]


def run(spec: ApiSpec, base_url: str, headers: dict[str, str], client: Client, options: Options,
        target: str, progress: Progress | None = None,
        on_case: Callable[[Op, Any, Any], None] | None = None) -> Report:
    """Every check the kit has, against ``base_url``; the report says what broke and whose rule."""
    started = time.monotonic()
    report = Report(spec.name, target, options.strict)
    tag = f"contract-test-{secrets.token_hex(4)}"
    judge = Judge(spec, base_url, headers, client, report, tag)
    resolver = Resolver(judge, options.known)
    lists = ListProbe(judge, resolver)
    writes = WriteProbe(judge, resolver, lists)
    progress = progress or (lambda step, done, total: None)

    def seen(op: Op, case: Any, response: Any) -> None:
        if op.id in create_ids and 200 <= response.status_code < 300:
            try:
                writes.remember(op.path, response.json(), dict(case.query or {}))
            except ValueError:
                pass
        if on_case is not None:
            on_case(op, case, response)

    creates = writes.creates()
    create_ids = {o.id for o in creates}
    fuzzed = [o for o in spec.ops.values() if o.method == "get" or not options.read_only]
    steps: list[tuple[str, Callable[[], Any]]] = []
    for op in fuzzed:
        steps.append((f"cases {op.label}", lambda op=op: fuzz_operation(
            judge, op, resolver.known, options.seed, options.max_examples, seen)))
    for op in spec.lists:
        steps.append((f"lists {op.label}", lambda op=op: lists.run(op)))
    for op in spec.ops.values():
        steps.append((f"auth {op.label}", lambda op=op: check_auth(judge, resolver, op)))
    if not options.read_only and has_links(judge):
        steps.append(("stateful (links)", lambda: run_stateful(
            judge, options.max_examples, seen, writes.created_ids)))
    if not options.read_only:
        for op in creates:
            steps.append((f"writes {op.label}", lambda op=op: writes.run(op)))
        steps.append(("clean-up", writes.cleanup))
    try:
        for done, (step, action) in enumerate(steps):
            progress(step, done, len(steps))
            action()
        progress("done", len(steps), len(steps))
    finally:
        report.requests = client.sent
        report.seconds = time.monotonic() - started
    if writes.created:
        ids = ", ".join(sorted(writes.created_ids()))
        report.notes.append(f"records the kit created carry {tag!r}; archived or deleted at the end: {ids}")
    return report


def preflight(spec: ApiSpec, client: Client, base_url: str, headers: dict[str, str],
              known: dict[str, Any]) -> str | None:
    """Why a run cannot be made (unreachable, credentials refused), or None when it can."""
    import requests

    op = next((o for o in spec.lists if o.secured), None) or next(iter(spec.lists), None)
    if op is None:
        return None
    path = op.path
    for param in op.required_params:
        value = known.get(param["name"], param.get("example", param.get("schema", {}).get("example")))
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", str(value))
    query = {p["name"]: known.get(p["name"], p.get("example")) for p in op.required_params if p["in"] == "query"}
    try:
        response = client.get(base_url.rstrip("/") + path, params=query, headers=headers)
    except requests.RequestException as error:
        return f"cannot reach {base_url}: {type(error).__name__}"
    if response.status_code in (401, 403):
        return f"credentials refused: {op.label} answered {response.status_code}"
    return None
