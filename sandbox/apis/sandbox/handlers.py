"""Control routes: health, the workspace life cycle, its data in and out, its journal, specs."""
from __future__ import annotations

import secrets
from typing import Any

from ... import __version__
from ...engine.api import Context, Reply
from ...engine.auth import bearer_token
from ...engine.controls import journal_entries
from ...engine.errors import Detail, NotFound, Unauthorized, ValidationFailed, summarize
from ...engine.scenarios import check_scenario
from ...engine.store import Workspace
from ...engine.workspaces import Registry


def _spec_url(name: str) -> str:
    return f"/_sandbox/specs/{name}"


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(ctx: Context, workspace: Workspace) -> dict[str, Any]:
    return summary(ctx.registry, workspace)


def summary(registry: Registry, workspace: Workspace) -> dict[str, Any]:
    """What ``workspace`` holds for each partner API: counts, the ids to start from, its limits."""
    apis = {}
    for api in (a for a in registry.apis if a.name != "sandbox"):
        collections = workspace.collections.get(api.name, {})
        apis[api.name] = {
            "base_url": api.prefix,
            "spec_url": _spec_url(api.name),
            "counts": {name: len(c) for name, c in collections.items()},
            "start_ids": api.summarize(workspace) if api.summarize else {},
        }
    return {"name": workspace.name, "seed": workspace.seed, "scale": workspace.scale,
            "rate_limit": workspace.rate_limit, "delay_ms": workspace.delay_ms,
            "expires_at": _iso(registry.expires_at(workspace)),
            "records_written": workspace.usage.records, "max_records": registry.settings.max_records,
            "apis": apis}


def health(ctx: Context) -> dict[str, Any]:
    apis = [{"name": a.name, "base_url": a.prefix, "spec_url": _spec_url(a.name)} for a in ctx.registry.apis]
    return {"status": "ok", "version": __version__, "apis": apis}


def get_workspace(ctx: Context) -> dict[str, Any]:
    return describe(ctx, ctx.workspace)


def _require_admin(ctx: Context) -> None:
    """With ``--admin-token`` set, only its holder may create workspaces."""
    admin = ctx.registry.settings.admin_token
    if admin is None:
        return
    given = bearer_token(ctx.http.headers.get("Authorization")) or ""
    if not secrets.compare_digest(given.encode(), admin.encode()):
        raise Unauthorized("This sandbox creates workspaces only for its admin token: send Authorization: Bearer <admin token>.",
                           [Detail("header.Authorization", "missing, or not the admin token")],
                           {"WWW-Authenticate": 'Bearer realm="sandbox"'})


def create_workspace(ctx: Context) -> Reply:
    _require_admin(ctx)
    body = ctx.body or {}
    settings = ctx.registry.settings
    problems = []
    if body.get("scale", 1) > settings.max_scale:
        problems.append(Detail("body.scale", f"this sandbox allows at most scale {settings.max_scale}"))
    if body.get("delay_ms", 0) > settings.max_delay_ms:
        problems.append(Detail("body.delay_ms", f"this sandbox allows at most {settings.max_delay_ms} ms"))
    if problems:
        raise ValidationFailed(summarize(problems), problems)
    ws = ctx.registry.create(body.get("name"), seed=body.get("seed"), scale=body.get("scale"),
                             rate_limit=body.get("rate_limit"), delay_ms=body.get("delay_ms", 0),
                             scenario=body.get("scenario"))
    credentials = {"name": ws.name, "token": ws.token, "client_id": ws.client_id, "client_secret": ws.client_secret,
                   "seed": ws.seed, "scale": ws.scale, "rate_limit": ws.rate_limit, "delay_ms": ws.delay_ms}
    return Reply(credentials, 201)


def reset_workspace(ctx: Context) -> dict[str, Any]:
    return describe(ctx, ctx.registry.reset(ctx.workspace))


def delete_workspace(ctx: Context) -> dict[str, Any]:
    ctx.registry.delete(ctx.workspace)
    return {"name": ctx.workspace.name, "deleted": True}


def export_workspace(ctx: Context) -> dict[str, Any]:
    return ctx.registry.export(ctx.workspace)


def import_workspace(ctx: Context) -> dict[str, Any]:
    loaded = ctx.registry.import_data(ctx.workspace, ctx.body["data"])
    return {"loaded": loaded, "workspace": describe(ctx, ctx.workspace)}


def list_requests(ctx: Context) -> dict[str, Any]:
    filters = {k: ctx.query.get(k) for k in ("api", "operation", "status", "limit")}
    entries, capacity = journal_entries(ctx.workspace, ctx.registry.settings, **filters)
    return {"data": entries, "capacity": capacity}


def get_spec(ctx: Context) -> dict[str, Any]:
    name = ctx.path["api"]
    for api in ctx.registry.apis:
        if api.name == name:
            return api.spec.raw
    known = ", ".join(a.name for a in ctx.registry.apis)
    raise NotFound(f"No API named {name!r}; the sandbox serves {known}.", [Detail("path.api", "unknown API")])


def _check_fixtures(ctx: Context) -> None:
    check_scenario(ctx.body, ctx.registry.apis, "the scenario")


def load_fixtures(ctx: Context) -> dict[str, Any]:
    loaded = ctx.registry.apply(ctx.workspace, ctx.body, "the scenario")
    return {"loaded": loaded, "workspace": describe(ctx, ctx.workspace)}


load_fixtures.prepare = _check_fixtures  # type: ignore[attr-defined]  # the slow part, before the lock


def simulate_commerce_checkout(ctx: Context) -> dict[str, Any]:
    """The commerce API's automatic business assignment, end to end (see ``commerce.checkout``)."""
    from ..commerce.checkout import checkout

    body = ctx.body
    return checkout(ctx.workspace, body["organization_id"], body["email"], body.get("company_name"),
                    body.get("first_name", ""), body.get("last_name", ""))
