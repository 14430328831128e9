"""The on-disk cache of generated data sets: the same seed gives the same bytes from it,
and a file it cannot read is rebuilt, not trusted."""
from __future__ import annotations

import gc

from sandbox import create_app
from sandbox.settings import Settings

from .conftest import AUTH


APIS = ["billing", "commerce", "exemptions", "payments"]  # those with seeded data: a cache file each


def export(seed: int) -> bytes:
    client = create_app(Settings(seed=seed)).test_client()
    response = client.get("/_sandbox/workspace/export", headers=AUTH)
    assert response.status_code == 200 and response.get_json()["data"]["payments"]["customers"]
    return response.data


def cached_apis(folder, seed: int) -> list[str]:
    """The APIs whose data of ``seed`` (scale 1) the cache holds (``data-<digest>-<api>-<seed>-1-<day>``)."""
    return sorted(path.name.split("-")[2] for path in folder.glob(f"data-*-{seed}-1-*.pickle"))


def test_a_cached_data_set_gives_the_bytes_a_fresh_build_gives(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_CACHE_DIR", str(tmp_path))
    built = export(11)
    assert cached_apis(tmp_path, 11) == APIS
    (cached,) = tmp_path.glob("data-*-payments-11-1-*.pickle")
    assert export(11) == built
    cached.write_bytes(b"not a pickle")
    assert export(11) == built  # unreadable: rebuilt (and written again)
    assert cached.read_bytes() != b"not a pickle"
    assert export(12) != built and len(list(tmp_path.glob("data-*.pickle"))) == 2 * len(APIS)


def test_only_the_apis_read_are_made_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_CACHE_DIR", str(tmp_path))
    client = create_app(Settings(seed=15)).test_client()
    assert client.get("/_sandbox/health").status_code == 200 and cached_apis(tmp_path, 15) == []
    page = client.get("/payments/customers?limit=3", headers=AUTH).get_json()
    assert len(page["data"]) == 3 and cached_apis(tmp_path, 15) == ["payments"]


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_CACHE_DIR", str(tmp_path))
    cached = export(13)
    monkeypatch.setenv("SANDBOX_CACHE_DIR", "off")
    assert export(13) == cached
    assert cached_apis(tmp_path, 13) == APIS  # the first export's, none more


def test_the_collector_is_paused_only_while_a_data_set_is_made_or_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_CACHE_DIR", str(tmp_path))
    assert gc.isenabled()
    for _ in range(2):  # made, then read back
        export(14)
        assert gc.isenabled() and gc.get_freeze_count() > 0  # the records are out of the collector's reach
