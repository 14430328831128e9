"""Control routes: health, workspaces, reset, specs."""
from __future__ import annotations

from typing import Any

from ... import __version__
from ...engine.api import Context, Reply
from ...engine.errors import Conflict, Detail, NotFound
from ...engine.scenarios import check_scenario
from ...engine.store import Workspace


def _spec_url(name: str) -> str:
    return f"/_sandbox/specs/{name}"


def _partner_apis(ctx: Context):
    return [a for a in ctx.registry.apis if a.name != "sandbox"]


def describe(ctx: Context, workspace: Workspace) -> dict[str, Any]:
    apis = {}
    for api in _partner_apis(ctx):
        collections = workspace.collections.get(api.name, {})
        apis[api.name] = {
            "base_url": api.prefix,
            "spec_url": _spec_url(api.name),
            "counts": {name: len(c) for name, c in collections.items()},
            "start_ids": api.summarize(workspace) if api.summarize else {},
        }
    return {"name": workspace.name, "seed": workspace.seed, "scale": workspace.scale, "apis": apis}


def health(ctx: Context) -> dict[str, Any]:
    apis = [{"name": a.name, "base_url": a.prefix, "spec_url": _spec_url(a.name)} for a in ctx.registry.apis]
    return {"status": "ok", "version": __version__, "apis": apis}


def get_workspace(ctx: Context) -> dict[str, Any]:
    return describe(ctx, ctx.workspace)


def create_workspace(ctx: Context) -> Reply:
    name = (ctx.body or {}).get("name")
    try:
        ws = ctx.registry.create(name)
    except ValueError:
        raise Conflict(f"A workspace named {name!r} exists.", [Detail("body.name", "is taken")]) from None
    body = {"name": ws.name, "token": ws.token, "client_id": ws.client_id,
            "client_secret": ws.client_secret, "seed": ws.seed, "scale": ws.scale}
    return Reply(body, 201)


def reset_workspace(ctx: Context) -> dict[str, Any]:
    return describe(ctx, ctx.registry.reset(ctx.workspace))


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
