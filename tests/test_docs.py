"""The docs site without a browser: what /docs serves, what the static build writes, how specs are annotated."""
from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from sandbox.__main__ import main
from sandbox.apis import discover
from sandbox.docs.annotate import MARK, derived_rules, for_docs

from .conftest import AUTH, ROOT

APIS = {api.name: api for api in discover()}
ORIGIN = "http://localhost"


def _config(html: str) -> dict:
    found = re.search(r'<script id="docs-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "page carries no embedded config"
    return json.loads(found.group(1))


def test_docs_redirects_to_the_index(read_client) -> None:
    response = read_client.get("/docs")
    assert response.status_code == 308 and response.headers["Location"].endswith("/docs/")


def test_index_lists_every_api_with_page_and_raw_specs(read_client) -> None:
    html = read_client.get("/docs/").get_data(as_text=True)
    assert read_client.get("/docs/index.html").get_data(as_text=True) == html
    for name, api in APIS.items():
        assert f'href="{name}.html"' in html and f'href="{name}.yaml"' in html and f'href="{name}.json"' in html
        assert f"<code>{ORIGIN}{api.prefix}</code>" in html
        assert f"<td>{len(api.spec.operations)}</td>" in html


def test_index_tells_how_to_start(read_client) -> None:
    html = read_client.get("/docs/").get_data(as_text=True)
    assert "<code>sandbox-token</code>" in html and "id <code>sandbox</code>" in html
    assert f"POST {ORIGIN}/payments/oauth/token" in html
    assert f"curl -s -X POST {ORIGIN}/_sandbox/workspaces" in html
    workspace = read_client.get("/_sandbox/workspace", headers=AUTH).get_json()
    for api in workspace["apis"].values():
        for ids in api["start_ids"].values():
            assert ids and all(f"<code>{i}</code>" in html for i in ids)


@pytest.mark.parametrize("name", sorted(APIS))
def test_page_embeds_the_spec_pointed_at_this_sandbox(read_client, name: str) -> None:
    api = APIS[name]
    config = _config(read_client.get(f"/docs/{name}.html").get_data(as_text=True))
    spec = config["spec"]
    assert spec["paths"].keys() == api.spec.raw["paths"].keys()
    assert spec["components"]["schemas"].keys() == api.spec.raw["components"].get("schemas", {}).keys()
    relative = [s["url"] for s in api.spec.raw.get("servers", []) if s["url"].startswith("/")]
    assert [s["url"] for s in spec["servers"]][: len(relative)] == [f"{ORIGIN}{u}" for u in relative]
    assert (config["sandbox"], config["token"], config["clientId"]) == (ORIGIN, "sandbox-token", "sandbox")
    for scheme in spec["components"].get("securitySchemes", {}).values():
        for flow in scheme.get("flows", {}).values():
            assert flow["tokenUrl"].startswith("http")


@pytest.mark.parametrize("name", sorted(APIS))
def test_raw_specs_download_as_yaml_and_json(read_client, name: str) -> None:
    api = APIS[name]
    as_yaml = read_client.get(f"/docs/{name}.yaml")
    assert as_yaml.mimetype == "application/yaml" and as_yaml.data == api.spec.path.read_bytes()
    as_json = read_client.get(f"/docs/{name}.json")
    assert as_json.mimetype == "application/json" and as_json.get_json() == api.spec.raw
    assert yaml.safe_load(as_yaml.data) == as_json.get_json()


def test_unknown_api_is_a_404_in_the_control_shape(read_client) -> None:
    response = read_client.get("/docs/nope.html")
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_found" and "nope" in body["message"]
    assert body["details"] == [{"field": "path.name", "message": "unknown API"}]


@pytest.mark.parametrize("name", sorted(APIS))
def test_every_derived_rule_is_said_beside_its_node(name: str) -> None:
    raw = APIS[name].spec.raw
    before = json.dumps(raw, sort_keys=True)
    spec = for_docs(raw, ORIGIN)
    assert json.dumps(raw, sort_keys=True) == before, "annotating changed the loaded spec"
    rules = derived_rules(raw)
    for rule in rules:
        node = spec
        for part in rule.pointer.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        assert rule.text in node["description"] and rule.why in rule.text
        assert f"`{rule.where}`" in spec["info"]["description"]
    assert (f"{MARK}s ({len(rules)})" in spec["info"]["description"]) == bool(rules)


def test_derived_rules_name_their_keywords() -> None:
    raw = {"paths": {"/a": {"get": {"parameters": [
        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 9}, "x-derived": "why q"},
        {"name": "n", "in": "query", "schema": {"type": "integer", "minimum": 1, "x-derived": {"minimum": "why n"}}},
    ], "responses": {"200": {"description": "ok"}, "409": {"description": "clash", "x-derived": "why 409"}}}}}}
    rules = derived_rules(raw)
    assert [(r.where, r.keywords, r.why, r.response) for r in rules] == [
        ("paths › /a › get › parameters › 0", ("maxLength",), "why q", False),
        ("paths › /a › get › parameters › 1 › schema", ("minimum",), "why n", False),
        ("paths › /a › get › responses › 409", (), "why 409", True),
    ]
    assert "this response (its status code) is not in the source document" in rules[2].text


def test_static_build_writes_every_page_and_spec(tmp_path: Path, capsys) -> None:
    out = tmp_path / "site"
    assert main(["docs", "build", "--out", str(out), "--sandbox-url", "http://127.0.0.1:9999"]) == 0
    assert "wrote" in capsys.readouterr().out
    for name, api in APIS.items():
        page = (out / f"{name}.html").read_text()
        assert _config(page)["spec"]["servers"][0]["url"] == f"http://127.0.0.1:9999{api.prefix}"
        assert (out / f"{name}.yaml").read_bytes() == api.spec.path.read_bytes()
        assert json.loads((out / f"{name}.json").read_text()) == api.spec.raw
    index = (out / "index.html").read_text()
    for page in [index, *((out / f"{n}.html").read_text() for n in APIS)]:
        links = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert links and all(not re.match(r"[a-z]+:|/", link) for link in links), links
        for link in links:
            assert (out / link).is_file(), f"{link} is linked but not written"
    vendor = out / "static" / "vendor" / "swagger-ui"
    assert {"LICENSE", "NOTICE", "swagger-ui-bundle.js", "swagger-ui.css"} <= {p.name for p in vendor.iterdir()}


def test_every_docs_asset_is_package_data() -> None:
    """A wheel carries the templates and vendored assets (package-data globs cover each file)."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["sandbox.docs"]
    docs = ROOT / "sandbox" / "docs"
    files = [p.relative_to(docs).as_posix() for p in docs.rglob("*")
             if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert files and [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []


@pytest.mark.parametrize("name", sorted(APIS))
def test_each_rendered_operation_carries_its_path_parameters(name: str) -> None:
    """Path-level parameters are copied into each operation (Swagger UI drops some shared ones)."""
    spec = for_docs(APIS[name].spec.raw, ORIGIN)
    for op in APIS[name].spec.operations.values():
        rendered = spec["paths"][op.path][op.method.lower()].get("parameters", [])
        names = set()
        for p in rendered:
            target = p
            if "$ref" in p:
                target = spec
                for part in p["$ref"][2:].split("/"):
                    target = target[part]
            names.add((target["name"], target["in"]))
        assert names == {(p.name, p.location) for p in op.parameters}
        assert "parameters" not in spec["paths"][op.path]


def test_cors_preflight_is_answered_for_any_api_route(read_client) -> None:
    """"Try it" from a page on disk (origin null) or another host: the browser's preflight gets a 204."""
    response = read_client.open("/payments/customers", method="OPTIONS", headers={
        "Origin": "null", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 204 and response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type"


def test_cors_headers_only_for_cross_origin_requests(read_client) -> None:
    crossing = read_client.get("/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/addresses",
                               headers={**AUTH, "Origin": "http://127.0.0.1:9999"})
    assert crossing.status_code == 200 and crossing.headers["Access-Control-Allow-Origin"] == "*"
    assert crossing.get_json()["customer_id"] == "cus_01h1w8r7s2v4l5m6n7p8j9k0q2"
    plain = read_client.get("/billing/v1/customers/cus_01h1w8r7s2v4l5m6n7p8j9k0q2/addresses", headers=AUTH)
    assert "Access-Control-Allow-Origin" not in plain.headers
    not_preflight = read_client.open("/payments/customers", method="OPTIONS")
    assert not_preflight.status_code == 405 and not_preflight.get_json()["error"]
