"""The documentation site: ``/docs`` on a running sandbox, or the same pages written to a folder.

Every page comes from the specs the sandbox loaded (an API added to ``sandbox/apis`` shows up
here without a change). Pages link to each other, to the raw specs and to their assets by
relative URLs, and each API page carries its spec inside it, so the site written by
``build`` works opened from disk (``file://``) or from any static host, with no network.
Swagger UI is vendored under ``static/vendor/swagger-ui`` (see its ``SOURCE.md``).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, render_template, request

from ..engine.errors import Detail, NotFound
from .annotate import credentials_for, derived_rules, for_docs, token_urls

if TYPE_CHECKING:
    from flask import Flask

    from ..engine.api import ApiDefinition

HERE = Path(__file__).resolve().parent
URL_PREFIX = "/docs"


def _sandbox() -> dict[str, Any]:
    return current_app.extensions["sandbox"]


def _root() -> str:
    """The sandbox's origin as the browser sees it (the static build passes the one it targets)."""
    return request.host_url.rstrip("/")


def _api(name: str) -> "ApiDefinition":
    for api in _sandbox()["apis"]:
        if api.name == name:
            return api
    known = ", ".join(a.name for a in _sandbox()["apis"])
    raise NotFound(f"No API named {name!r} in the docs; they cover {known}.", [Detail("path.name", "unknown API")])


def _index_context() -> dict[str, Any]:
    from ..apis.sandbox.handlers import summary

    sandbox = _sandbox()
    registry, settings = sandbox["registry"], sandbox["settings"]
    apis = sandbox["apis"]
    control = next(a for a in apis if a.name == "sandbox")
    rows = [{
        "name": api.name,
        "title": api.spec.raw.get("info", {}).get("title", api.name),
        "version": api.spec.raw.get("info", {}).get("version", ""),
        "base_url": f"{_root()}{api.prefix}",
        "operations": len(api.spec.operations),
        "decisions": len(derived_rules(api.spec.raw)),
    } for api in apis]
    start = summary(registry, registry.default)["apis"]
    return {
        "root": _root(), "apis": rows, "control": f"{_root()}{control.prefix}",
        "token": registry.default.token, "client_id": registry.default.client_id,
        "client_secret": registry.default.client_secret, "seed": settings.seed, "scale": settings.scale,
        "token_urls": [(api.name, url) for api in apis for url in token_urls(api.spec.raw, _root())],
        "start_ids": [(name, kind, ids) for name, info in start.items() for kind, ids in info["start_ids"].items()],
    }


def _page_config(api: "ApiDefinition") -> dict[str, Any]:
    default = _sandbox()["registry"].default
    root = _root()
    return {
        "spec": for_docs(api.spec.raw, root),
        "sandbox": root,
        "token": default.token,
        "clientId": default.client_id,
        "clientSecret": default.client_secret,
        "schemes": credentials_for(api.spec.raw),
        "tokenUrls": [url for a in _sandbox()["apis"] for url in token_urls(a.spec.raw, root)],
    }


def blueprint() -> Blueprint:
    """``/docs/`` (index), ``/docs/<api>.html`` (Swagger UI), ``/docs/<api>.yaml|json``, ``/docs/static/``."""
    docs = Blueprint("docs", __name__, url_prefix=URL_PREFIX, static_folder="static",
                     template_folder="templates")

    @docs.get("/")
    @docs.get("/index.html")
    def index():
        return render_template("docs/index.html", **_index_context())

    @docs.get("/<name>.html")
    def page(name: str):
        api = _api(name)
        info = api.spec.raw.get("info", {})
        return render_template("docs/api.html", name=api.name, title=info.get("title", api.name),
                               config=_page_config(api))

    @docs.get("/<name>.yaml")
    def spec_yaml(name: str):
        return Response(_api(name).spec.path.read_bytes(), mimetype="application/yaml")

    @docs.get("/<name>.json")
    def spec_json(name: str):
        return Response(json.dumps(_api(name).spec.raw, indent=2, ensure_ascii=False) + "\n",
                        mimetype="application/json")

    return docs


def init_app(app: "Flask") -> None:
    """Mount ``/docs`` and let pages from other origins call the sandbox (CORS)."""
    app.register_blueprint(blueprint())
    app.before_request(_preflight)
    app.after_request(_allow_origin)


def _preflight() -> Response | None:
    """Answer a browser's CORS preflight (``OPTIONS`` + ``Access-Control-Request-Method``) for any route.

    "Try it" on a page opened from disk or served by another host sends ``Authorization``,
    so the browser asks first; the routes themselves never see these requests.
    """
    method = request.headers.get("Access-Control-Request-Method")
    if request.method != "OPTIONS" or not method or "Origin" not in request.headers:
        return None
    response = Response(status=204)
    del response.headers["Content-Type"]
    response.headers["Access-Control-Allow-Methods"] = method
    response.headers["Access-Control-Allow-Headers"] = request.headers.get("Access-Control-Request-Headers", "")
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def _allow_origin(response: Response) -> Response:
    """Any origin may read the sandbox's answers (it holds only seeded test data); no cookies are used."""
    if "Origin" in request.headers:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "Location, WWW-Authenticate"
    return response


def build(app: "Flask", out: Path, sandbox_url: str) -> list[Path]:
    """Write the site (index, a page and the raw specs per API, static assets) into ``out``.

    The pages are the ones ``/docs`` serves, fetched in-process as if from ``sandbox_url``,
    so "Try it" on a page opened from disk calls the sandbox at that address.
    """
    out.mkdir(parents=True, exist_ok=True)
    client = app.test_client()
    names = ["index.html"] + [f"{api.name}.{ext}" for api in app.extensions["sandbox"]["apis"]
                              for ext in ("html", "yaml", "json")]
    written = []
    for name in names:
        response = client.get(f"{URL_PREFIX}/{name}", base_url=sandbox_url)
        if response.status_code != 200:
            raise RuntimeError(f"docs: {name} answered {response.status_code}: {response.get_data(as_text=True)}")
        target = out / name
        target.write_bytes(response.get_data())
        written.append(target)
    shutil.copytree(HERE / "static", out / "static", dirs_exist_ok=True)
    return written
