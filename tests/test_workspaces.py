"""Workspaces: created with a seed, scale, rate limit and scenario; described, reset, exported,
imported, deleted and expired; isolated from each other; copy on write; bounded."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from sandbox import create_app
from sandbox.engine.errors import ValidationFailed
from sandbox.engine.store import ByApi, Collection, Workspace
from sandbox.settings import Settings

from .conftest import AUTH, ROOT

NEW_CUSTOMER = {"name": "Workspace Test Co", "email": "billing@workspacetest.com", "country": "USA"}
ARCHIVED_ID = "6f1c2a9e-0d4b-4c3e-9a7f-2b8d5e1f0a11"  # fixtures/scenarios/payments-archived-customer.yaml


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def registry(app):
    return app.extensions["sandbox"]["registry"]


def later(reg, seconds: float) -> None:
    """From now on the registry's clock reads ``seconds`` later (as if they had passed)."""
    clock = reg._clock
    reg._clock = lambda: clock() + seconds


def create(client, status: int = 201, headers: dict | None = None, **body) -> dict:
    response = client.post("/_sandbox/workspaces", json=body, headers=headers or {})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def control_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"error", "message", "details"} and body["error"] == code and body["message"], body
    if field is not None:
        assert field in [d["field"] for d in body["details"]], body
    return body


def reads(client, headers) -> list[bytes]:
    """Every API's first pages and the payments customers' details, as bytes."""
    summary = client.get("/_sandbox/workspace", headers=headers).get_json()
    billing_id = summary["apis"]["billing"]["start_ids"]["customer_ids"][0]
    corp = summary["apis"]["exemptions"]["start_ids"]["corporation_ids"][0]
    urls = ["/payments/customers?limit=100", f"/billing/v1/customers/{billing_id}/businesses?limit=100",
            f"/exemptions/customers?corporation_id={corp}&limit=100"]
    return [client.get(url, headers=headers).data for url in urls]


def scenario(name: str) -> dict:
    return yaml.safe_load((ROOT / "fixtures" / "scenarios" / name).read_text())


# -- creating and describing -----------------------------------------------------------

def test_create_with_every_option_returns_credentials_and_describe_shows_them(client):
    creds = create(client, name="team-a", seed=7, scale=2, rate_limit=50, delay_ms=0)
    assert {k: creds[k] for k in ("name", "seed", "scale", "rate_limit", "delay_ms")} == {
        "name": "team-a", "seed": 7, "scale": 2, "rate_limit": 50, "delay_ms": 0}
    assert creds["token"].startswith("sbx_") and creds["client_id"].startswith("client_") and creds["client_secret"]
    mine = client.get("/_sandbox/workspace", headers=bearer(creds["token"])).get_json()
    assert (mine["name"], mine["seed"], mine["scale"], mine["rate_limit"]) == ("team-a", 7, 2, 50)
    assert mine["records_written"] == 0 and mine["max_records"] == 10_000 and mine["expires_at"].endswith("Z")
    default = client.get("/_sandbox/workspace", headers=AUTH).get_json()
    assert default["expires_at"] is None and default["seed"] == 42
    assert mine["apis"]["payments"]["counts"]["customers"] > default["apis"]["payments"]["counts"]["customers"]
    token = client.post("/payments/oauth/token", data={"grant_type": "client_credentials", "client_id": creds["client_id"],
                                                        "client_secret": creds["client_secret"]}).get_json()["access_token"]
    assert client.get("/_sandbox/workspace", headers=bearer(token)).get_json()["name"] == "team-a"


def test_no_body_gives_the_server_seed_and_a_generated_name(client):
    creds = client.post("/_sandbox/workspaces").get_json()
    assert creds["name"].startswith("ws_") and (creds["seed"], creds["scale"], creds["rate_limit"]) == (42, 1, None)


def test_a_taken_name_and_bad_options_are_refused(client):
    create(client, name="dup")
    control_error(client.post("/_sandbox/workspaces", json={"name": "dup"}), 409, "conflict", "body.name")
    control_error(client.post("/_sandbox/workspaces", json={"scale": 11}), 422, "validation_failed", "body.scale")
    control_error(client.post("/_sandbox/workspaces", json={"rate_limit": 0}), 422, "validation_failed", "body.rate_limit")
    control_error(client.post("/_sandbox/workspaces", json={"seed": -1}), 422, "validation_failed", "body.seed")
    assert registry(client.application).count == 2


def test_same_seed_starts_byte_identical_and_ids_do_not_cross(client):
    a, b = (bearer(create(client, seed=7)["token"]) for _ in range(2))
    assert reads(client, a) == reads(client, b)
    assert reads(client, a) != reads(client, AUTH)  # seed 42
    made = client.post("/payments/customers", json=NEW_CUSTOMER, headers=a).get_json()
    assert client.get(f"/payments/customers/{made['id']}", headers=a).status_code == 200
    missing = client.get(f"/payments/customers/{made['id']}", headers=b)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert reads(client, a)[0] != reads(client, b)[0]


def test_a_scenario_given_at_creation_is_loaded_and_survives_reset(client):
    token = bearer(create(client, scenario=scenario("payments-archived-customer.yaml"))["token"])
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers=token).get_json()["status"] == "archived"
    client.post(f"/payments/customers/{ARCHIVED_ID}/restore", headers=token)
    client.post("/_sandbox/workspace/reset", headers=token)
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers=token).get_json()["status"] == "archived"
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers=AUTH).status_code == 404


def test_a_bad_scenario_is_checked_whole_first_and_no_workspace_is_made(client):
    bad = scenario("payments-archived-customer.yaml")
    bad["payments"]["users"][0]["customer_id"] = "00000000-0000-4000-8000-000000000000"
    body = control_error(client.post("/_sandbox/workspaces", json={"name": "bad", "scenario": bad}), 422,
                         "validation_failed", "payments.users[0].customer_id")
    assert "body.scenario" in body["message"]
    assert registry(client.application).count == 1 and registry(client.application).usage.records == 0


# -- copy on write -----------------------------------------------------------------------

def test_a_workspace_holds_only_its_own_writes(client):
    token = bearer(create(client)["token"])
    first = client.get("/payments/customers?limit=1", headers=token).get_json()["data"][0]
    client.post("/payments/customers", json=NEW_CUSTOMER, headers=token)
    client.patch(f"/payments/customers/{first['id']}", json={"city": "Oslo"}, headers=token)
    mine = client.get("/_sandbox/workspace", headers=token).get_json()
    assert mine["records_written"] == 2
    assert client.get(f"/payments/customers/{first['id']}", headers=AUTH).get_json() == first
    assert registry(client.application).usage.records == 2


def test_overlay_scans_merge_own_writes_into_the_base_in_key_order():
    base = Collection("things", ("n",), "group")
    for n in range(0, 10, 2):
        base.put({"id": f"b{n}", "n": n, "group": n % 4})
    over = base.overlay()
    over.put({"id": "o5", "n": 5, "group": 1})
    over.put({"id": "b4", "n": 11, "group": 0})   # a base record changed: moves to the end
    over.delete("b2")
    assert [r["id"] for r in over.values()] == ["b0", "o5", "b6", "b8", "b4"]
    assert [r["id"] for r in over.values(reverse=True)] == ["b4", "b8", "b6", "o5", "b0"]
    assert [r["id"] for r in over.values(parent=0)] == ["b0", "b8", "b4"]
    assert [k[-1] for k, _ in over.scan(start=(5, "o5"))] == ["b6", "b8", "b4"]
    assert [k[-1] for k, _ in over.scan(start=(5, "o5"), reverse=True, inclusive=True)] == ["o5", "b0"]
    assert len(over) == 5 and "b2" not in over and over.get("b4")["n"] == 11 and over.written == 2
    assert [r["id"] for r in base.values()] == ["b0", "b2", "b4", "b6", "b8"]  # the base never changes
    over.put({"id": "b4", "n": 4, "group": 0})  # back to the base record: nothing of its own
    assert over.written == 1 and [r["id"] for r in over.values()] == ["b0", "b4", "o5", "b6", "b8"]


# -- data sets built an API at a time ------------------------------------------------------

SEEDED_APIS = {"billing", "commerce", "exemptions", "payments"}


def test_an_api_is_built_when_first_read_and_a_new_workspace_builds_nothing():
    app = create_app(Settings(seed=16))
    client = app.test_client()
    dataset = registry(app).dataset(16, 1)
    assert client.get("/_sandbox/health").status_code == 200 and dataset.made == {}
    created = create(client, seed=16)
    registry(app).reset(registry(app).by_bearer(created["token"]))
    assert dataset.made == {}  # creating or resetting a workspace copies nothing and builds nothing
    token = bearer(created["token"])
    page = client.get("/payments/customers?limit=2", headers=token).get_json()
    assert len(page["data"]) == 2 and list(dataset.made) == ["payments"]
    assert client.get("/payments/customers?limit=2", headers=AUTH).get_json() == page  # one base, shared
    summary = client.get("/_sandbox/workspace", headers=AUTH).get_json()  # start ids of every API
    assert all(summary["apis"][api]["counts"] for api in SEEDED_APIS) and set(dataset.made) == SEEDED_APIS


def test_concurrent_first_readers_build_an_api_once_and_readers_of_others_do_not_wait():
    started, release, waited_out = threading.Event(), threading.Event(), []
    calls: list[str] = []

    def make(api: str) -> dict[str, Collection]:
        calls.append(api)
        if api == "slow":
            started.set()
            waited_out.append(not release.wait(timeout=30))  # True: "quick" waited for "slow"
        return {api: Collection(api)}

    by_api = ByApi(["slow", "quick"], make)
    with ThreadPoolExecutor(6) as pool:
        readers = [pool.submit(by_api.__getitem__, "slow") for _ in range(6)]
        assert started.wait(timeout=30)
        assert by_api["quick"]["quick"].name == "quick"  # while "slow" is being made
        release.set()
        made = [reader.result() for reader in readers]
    assert waited_out == [False] and calls == ["slow", "quick"] and all(m is made[0] for m in made)
    assert set(by_api) == {"slow", "quick"} and "slow" in by_api and "other" not in by_api


def test_concurrent_first_reads_from_workspaces_build_the_api_once(monkeypatch):
    app = create_app(Settings(seed=17))
    client = app.test_client()
    dataset = registry(app).dataset(17, 1)
    builds, make = [], dataset._make
    monkeypatch.setattr(dataset, "_make", lambda api: builds.append(api) or make(api))
    tokens = [bearer(create(client, seed=17)["token"]) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda t: app.test_client().get("/payments/customers?limit=5", headers=t).data, tokens))
    assert builds == ["payments"] and len(set(pages)) == 1 and len(json.loads(pages[0])["data"]) == 5


def test_a_failed_write_is_undone_in_collections_first_made_inside_it():
    base = Collection("things")
    base.fill([{"id": "b1", "created_at": "2024-01-01"}])
    workspace = Workspace(name="w", token="t", client_id="c", client_secret="s", seed=1, scale=1)
    workspace.cover(ByApi(["api"], lambda api: {"things": base}))
    with pytest.raises(RuntimeError), workspace.transaction():
        things = workspace.collection("api", "things")  # made here, inside the transaction
        things.put({"id": "n1", "created_at": "2024-02-01"})
        things.delete("b1")
        raise RuntimeError("the handler failed")
    assert [r["id"] for r in workspace.collection("api", "things").values()] == ["b1"]
    assert workspace.usage.records == 0 and things.journal is None


def test_a_start_up_scenario_spanning_apis_applies_to_each(tmp_path):
    archived_business = scenario("billing-archived-business.yaml")
    spanning = {"replace": True, "payments": scenario("payments-archived-customer.yaml")["payments"],
                "billing": archived_business["billing"]}
    path = tmp_path / "spanning.yaml"
    path.write_text(yaml.safe_dump(spanning))
    app = create_app(Settings(fixtures=[str(path)]))
    client = app.test_client()
    assert set(registry(app).dataset(42, 1).made) == {"billing", "payments"}  # built at start, to check it
    assert client.get(f"/payments/customers/{ARCHIVED_ID}", headers=AUTH).get_json()["status"] == "archived"
    (business,) = archived_business["billing"]["businesses"]
    page = client.get(f"/billing/v1/customers/{business['customer_id']}/businesses", headers=AUTH).get_json()
    assert [b["id"] for b in page["data"]] == [business["id"]] and page["data"][0]["status"] == "archived"
    apis = client.get("/_sandbox/workspace", headers=AUTH).get_json()["apis"]
    assert apis["payments"]["counts"] == {"customers": 1, "payment_methods": 1, "users": 1}  # replace: only these
    assert apis["billing"]["counts"]["customers"] == 1 and apis["exemptions"]["counts"]["customers"] > 1
    spanning["billing"]["businesses"][0]["customer_id"] = "cus_01hzx0000000000000000000zz"
    path.write_text(yaml.safe_dump(spanning))
    with pytest.raises(ValidationFailed, match=r"billing\.businesses\[0\]\.customer_id"):
        create_app(Settings(fixtures=[str(path)]))  # the second API's parent ids are still checked at start


# -- reset, export, import, delete -------------------------------------------------------

@pytest.mark.parametrize("path", ["/_sandbox/workspace/reset", "/_sandbox/reset"])
def test_reset_returns_to_the_seed_and_restarts_ids(client, path):
    token = bearer(create(client, seed=3)["token"])
    before = reads(client, token)
    made = client.post("/payments/customers", json=NEW_CUSTOMER, headers=token).get_json()
    described = client.post(path, headers=token).get_json()
    assert described["records_written"] == 0 and described["seed"] == 3
    assert reads(client, token) == before
    assert client.post("/payments/customers", json=NEW_CUSTOMER, headers=token).get_json()["id"] == made["id"]


def test_export_then_import_into_a_new_workspace_round_trips_every_record(client):
    token = bearer(create(client, seed=5)["token"])
    first = client.get("/payments/customers?limit=1", headers=token).get_json()["data"][0]
    made = client.post("/payments/customers", json=NEW_CUSTOMER, headers=token).get_json()
    client.delete(f"/payments/customers/{first['id']}", headers=token)
    exported = client.get("/_sandbox/workspace/export", headers=token).get_json()
    assert (exported["seed"], exported["scale"]) == (5, 1)
    assert set(exported["data"]) == {"billing", "commerce", "exemptions", "payments"}
    customers = {c["id"]: c for c in exported["data"]["payments"]["customers"]}
    assert customers[made["id"]] == made and customers[first["id"]]["status"] == "archived"
    before = reads(client, token)

    assert client.delete("/_sandbox/workspace", headers=token).get_json()["deleted"] is True
    assert client.get("/payments/customers", headers=token).status_code == 401

    other = bearer(create(client, seed=5)["token"])
    loaded = client.post("/_sandbox/workspace/import", json=exported, headers=other).get_json()
    assert loaded["loaded"]["payments"]["customers"] == len(customers)
    assert loaded["workspace"]["records_written"] == 2  # only what differs from the seed is held
    assert reads(client, other) == before
    assert client.get("/_sandbox/workspace/export", headers=other).get_json()["data"] == exported["data"]
    again = client.post("/payments/customers", json=NEW_CUSTOMER, headers=other).get_json()
    assert again["id"] not in customers  # ids after an import never repeat an imported one


def test_a_bad_import_changes_nothing(client):
    token = bearer(create(client)["token"])
    exported = client.get("/_sandbox/workspace/export", headers=token).get_json()
    exported["data"]["payments"]["customers"][3]["status"] = "deleted"
    before = client.get("/_sandbox/workspace/export", headers=token).data
    control_error(client.post("/_sandbox/workspace/import", json=exported, headers=token), 422,
                  "validation_failed", "payments.customers[3].status")
    control_error(client.post("/_sandbox/workspace/import", json={"name": "x"}, headers=token), 422,
                  "validation_failed", "body.data")
    assert client.get("/_sandbox/workspace/export", headers=token).data == before


def test_delete_stops_the_token_the_client_and_its_issued_tokens(client):
    creds = create(client)
    form = {"grant_type": "client_credentials", "client_id": creds["client_id"], "client_secret": creds["client_secret"]}
    issued = client.post("/payments/oauth/token", data=form).get_json()["access_token"]
    assert client.delete("/_sandbox/workspace", headers=bearer(creds["token"])).get_json() == {
        "name": creds["name"], "deleted": True}
    for token in (creds["token"], issued):
        body = client.get("/payments/customers", headers=bearer(token)).get_json()
        assert body["error"] == "unauthorized"
        assert client.get("/_sandbox/workspace", headers=bearer(token)).status_code == 401
    assert client.post("/payments/oauth/token", data=form).get_json()["error"] == "invalid_client"


def test_the_default_workspace_cannot_be_deleted(client):
    control_error(client.delete("/_sandbox/workspace", headers=AUTH), 409, "conflict", "workspace")
    assert client.get("/payments/customers", headers=AUTH).status_code == 200


# -- expiry and limits -------------------------------------------------------------------

def test_idle_workspaces_expire_but_the_default_never_does():
    app = create_app(Settings(idle_expiry=60))
    client = app.test_client()
    token = bearer(create(client)["token"])
    later(registry(app), 61)
    assert client.get("/payments/customers", headers=token).status_code == 401
    assert client.get("/payments/customers", headers=AUTH).status_code == 200
    assert registry(app).count == 1


def test_at_the_workspace_limit_idle_ones_are_swept_to_make_room():
    app = create_app(Settings(idle_expiry=60, max_workspaces=2))
    client = app.test_client()
    idle = bearer(create(client)["token"])
    later(registry(app), 61)
    create(client)
    assert client.get("/payments/customers", headers=idle).status_code == 401


def test_the_workspace_limit_is_a_507_and_deleting_makes_room():
    client = create_app(Settings(max_workspaces=2)).test_client()
    token = bearer(create(client)["token"])
    control_error(client.post("/_sandbox/workspaces"), 507, "insufficient_storage", "workspaces")
    client.delete("/_sandbox/workspace", headers=token)
    create(client)


def test_the_record_limit_refuses_writes_before_changing_anything():
    app = create_app(Settings(max_records=2))
    client = app.test_client()
    token = bearer(create(client)["token"])
    for _ in range(2):
        assert client.post("/payments/customers", json=NEW_CUSTOMER, headers=token).status_code == 201
    count = client.get("/_sandbox/workspace", headers=token).get_json()["apis"]["payments"]["counts"]["customers"]
    refused = client.post("/payments/customers", json=NEW_CUSTOMER, headers=token)
    assert refused.status_code == 507 and refused.get_json()["error"] == "insufficient_storage"
    assert "at most 2 records" in refused.get_json()["message"]
    mine = client.get("/_sandbox/workspace", headers=token).get_json()
    assert mine["apis"]["payments"]["counts"]["customers"] == count and mine["records_written"] == 2
    assert client.get("/payments/customers?limit=1", headers=token).status_code == 200  # reads still work
    big = scenario("payments-archived-customer.yaml")
    control_error(client.post("/_sandbox/fixtures", json=big, headers=AUTH), 507, "insufficient_storage")
    client.post("/_sandbox/workspace/reset", headers=token)
    assert client.post("/payments/customers", json=NEW_CUSTOMER, headers=token).status_code == 201


def test_the_sandbox_wide_record_limit_counts_every_workspace():
    client = create_app(Settings(max_total_records=1)).test_client()
    assert client.post("/payments/customers", json=NEW_CUSTOMER, headers=AUTH).status_code == 201
    other = bearer(create(client)["token"])
    refused = client.post("/payments/customers", json=NEW_CUSTOMER, headers=other)
    assert refused.status_code == 507 and "all workspaces together" in refused.get_json()["message"]


def test_distinct_data_sets_are_bounded_and_unused_ones_are_dropped():
    app = create_app(Settings(max_datasets=2))
    client = app.test_client()
    first = bearer(create(client, seed=1)["token"])
    control_error(client.post("/_sandbox/workspaces", json={"seed": 2}), 507, "insufficient_storage", "body.seed")
    client.delete("/_sandbox/workspace", headers=first)
    create(client, seed=2)
    assert sorted(registry(app)._datasets) == [(2, 1), (42, 1)]


# -- who may create -----------------------------------------------------------------------

def test_with_an_admin_token_only_its_holder_creates_workspaces():
    client = create_app(Settings(admin_token="s3cret-admin")).test_client()
    for headers in ({}, AUTH, bearer("wrong")):
        response = client.post("/_sandbox/workspaces", headers=headers)
        control_error(response, 401, "unauthorized", "header.Authorization")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    creds = create(client, headers=bearer("s3cret-admin"), name="shared")
    assert client.get("/_sandbox/workspace", headers=bearer(creds["token"])).get_json()["name"] == "shared"


def test_export_is_one_json_document_of_every_record(read_client):
    exported = read_client.get("/_sandbox/workspace/export", headers=AUTH)
    body = json.loads(exported.data)
    summary = read_client.get("/_sandbox/workspace", headers=AUTH).get_json()
    for api, collections in body["data"].items():
        assert {n: len(rs) for n, rs in collections.items()} == summary["apis"][api]["counts"]


# -- as a partner does it, against sandbox serve --------------------------------------------

def _call(url: str, method: str = "GET", headers: dict | None = None, body: dict | None = None):
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={**(headers or {}), **({"Content-Type": "application/json"} if data else {})})
    # the headers as received, read case-insensitively (granian sends their names in lower case)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def test_the_readme_walk_through_against_a_live_server(live_server):
    import threading

    b = live_server("--admin-token", "host-secret").url
    assert _call(f"{b}/_sandbox/workspaces", "POST", body={"seed": 7})[0] == 401
    status, _, creds = _call(f"{b}/_sandbox/workspaces", "POST", bearer("host-secret"),
                             {"name": "team-a", "seed": 7, "rate_limit": 5})
    assert status == 201 and creds["rate_limit"] == 5
    h = bearer(creds["token"])
    summary = _call(f"{b}/_sandbox/workspace", headers=h)[2]
    customer = summary["apis"]["payments"]["start_ids"]["customer_ids"][0]
    billing = summary["apis"]["billing"]["start_ids"]["customer_ids"][0]
    for url in (f"{b}/payments/customers/{customer}", f"{b}/billing/v1/customers/{billing}/addresses"):
        for code in (404, 429):
            status, headers, body = _call(url, headers={**h, "Prefer": f"code={code}"})
            assert status == code and headers["Preference-Applied"] == f"code={code}"
            assert "Forced" in json.dumps(body)
    assert "Retry-After" in _call(f"{b}/payments/customers/{customer}", headers={**h, "Prefer": "code=429"})[1]

    # a delayed request of one workspace does not hold up another's, even on the server's threads
    other = bearer(_call(f"{b}/_sandbox/workspaces", "POST", bearer("host-secret"), {})[2]["token"])
    slow_done = threading.Event()
    sleepers = [threading.Thread(target=lambda: (_call(f"{b}/payments/customers?limit=1",
                                                       headers={**other, "Prefer": "delay=3000"}), slow_done.set()))
                for _ in range(2)]
    for thread in sleepers:
        thread.start()
    try:
        assert all(_call(f"{b}/payments/customers?limit=1", headers=AUTH)[0] == 200 for _ in range(5))
        assert not slow_done.is_set()
    finally:
        for thread in sleepers:
            thread.join()

    statuses = [_call(f"{b}/payments/customers?limit=1", headers=h)[0] for _ in range(10)]
    assert statuses.count(429) >= 1 and statuses[0] == 200
    journal = _call(f"{b}/_sandbox/requests?operation=listCustomers&status=429", headers=h)[2]["data"]
    assert journal and all(e["status"] == 429 and e["errors"] for e in journal)

    exported = _call(f"{b}/_sandbox/workspace/export", headers=h)[2]
    assert _call(f"{b}/_sandbox/workspace", "DELETE", h)[2] == {"name": "team-a", "deleted": True}
    assert _call(f"{b}/payments/customers", headers=h)[0] == 401
    again = bearer(_call(f"{b}/_sandbox/workspaces", "POST", bearer("host-secret"), {"seed": 7})[2]["token"])
    status, _, loaded = _call(f"{b}/_sandbox/workspace/import", "POST", again, exported)
    assert status == 200 and loaded["workspace"]["records_written"] == 0
    assert _call(f"{b}/_sandbox/workspace/export", headers=again)[2]["data"] == exported["data"]
