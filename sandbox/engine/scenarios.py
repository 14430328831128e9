"""Scenario fixtures: records written by hand, loaded into a workspace whole or not at all.

A scenario is a YAML or JSON mapping ``{api: {collection: [record, ...]}}`` with two
optional keys: ``description`` and ``replace`` (true: the APIs it names are emptied before
loading, so the workspace holds only the scenario's records for them). Every record is
checked against its collection's spec schema, ids must be unique, and parent references
(e.g. a business's ``customer_id``) must resolve, before anything is written. Loading a
scenario again puts its records back as written: a record whose id exists is replaced.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import Detail, Problems, ValidationFailed, quote
from .validation import unencodable, value_details

if TYPE_CHECKING:
    from .api import ApiDefinition
    from .store import Workspace

META_KEYS = ("description", "replace")


def read_scenario(path: str | Path) -> dict[str, Any]:
    """Parse a scenario file (YAML, which includes JSON); ValidationFailed if it is not a mapping."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
        json.dumps(data, allow_nan=False)  # NaN / Infinity (YAML .nan, .inf) are no JSON a client could read
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"{path}: not valid YAML/JSON: {exc}", [Detail(str(path), "cannot be parsed")]) from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"{path}: a scenario is a mapping of API -> collection -> records",
                               [Detail(str(path), "is not a mapping")])
    return data


def _record_problems(api: "ApiDefinition", collection: str, schema: dict[str, Any], record: Any,
                     where: str) -> list[Detail]:
    """A record is stored only if the server can serve, filter and page it: its schema (internal
    fields included), dates it can compare, integers where the schema says integer, text it can send."""
    found = api.record_problems(collection, record, where)
    if found:
        return found
    found = value_details(schema, record, where)
    if not found and unencodable(record):
        found = [Detail(where, "holds a lone surrogate (such as \\ud800), which is not a Unicode character")]
    return found


def _problems(scenario: dict[str, Any], apis: dict[str, "ApiDefinition"]) -> Problems:
    problems = Problems()
    replace = scenario.get("replace", False)
    if not isinstance(replace, bool):
        problems.add(Detail("replace", "must be true or false"))
    ids: dict[tuple[str, str], set[str]] = {}
    for api_name, collections in scenario.items():
        if api_name in META_KEYS:
            continue
        api = apis.get(api_name)
        if api is None or not api.spec.collections:
            known = ", ".join(sorted(n for n, a in apis.items() if a.spec.collections))
            problems.add(Detail(api_name, f"is not an API with collections (known: {known})"))
            continue
        if not isinstance(collections, dict):
            problems.add(Detail(api_name, "must map collection names to lists of records"))
            continue
        for collection, records in collections.items():
            where = f"{api_name}.{collection}"
            if collection not in api.spec.collections:
                known = ", ".join(sorted(api.spec.collections))
                problems.add(Detail(where, f"{api_name} has no collection {collection!r} (it has: {known})"))
                continue
            if not isinstance(records, list):
                problems.add(Detail(where, "must be a list of records"))
                continue
            seen = ids.setdefault((api_name, collection), set())
            schema = api.spec.collection_schema(collection)  # unknown collections were refused above
            for i, record in enumerate(records):
                found = _record_problems(api, collection, schema, record, f"{where}[{i}]")
                problems.add(*found)
                if found or not isinstance(record, dict):
                    continue
                if record["id"] in seen:
                    problems.add(Detail(f"{where}[{i}].id", f"{quote(record['id'])} appears twice in the scenario"))
                seen.add(record["id"])
    return problems


def _reference_problems(scenario: dict[str, Any], apis: dict[str, "ApiDefinition"], workspace: "Workspace") -> Problems:
    problems = Problems()
    replace = scenario.get("replace", False)
    for api_name, collections in scenario.items():
        if api_name in META_KEYS:
            continue
        config = apis[api_name].spec.collections
        for collection, records in collections.items():
            parent = config[collection].get("parent")
            if not parent:
                continue
            known = {r["id"] for r in collections.get(parent["collection"], [])}
            existing = None if replace else workspace.collection(api_name, parent["collection"])
            for i, record in enumerate(records):
                ref = record.get(parent["field"])
                if ref not in known and (existing is None or ref not in existing):
                    problems.add(Detail(f"{api_name}.{collection}[{i}].{parent['field']}",
                                        f"{quote(ref)} is not a {parent['collection']} record of the scenario or the workspace"))
    return problems


def check_scenario(scenario: dict[str, Any], apis: list["ApiDefinition"], source: str = "scenario") -> None:
    """Raise ValidationFailed naming the bad records and fields (at most MAX_DETAILS of them,
    with a count of the rest). Needs no workspace, so it runs without holding one's lock."""
    _problems(scenario, {a.name: a for a in apis}).raise_as(ValidationFailed, f"{source} was not loaded: ")


def check_references(scenario: dict[str, Any], apis: list["ApiDefinition"], workspace: "Workspace",
                     source: str = "scenario") -> None:
    """Raise ValidationFailed unless every parent id resolves in the scenario or ``workspace``
    (call with the workspace's lock held, right before ``apply_scenario``)."""
    _reference_problems(scenario, {a.name: a for a in apis}, workspace).raise_as(
        ValidationFailed, f"{source} was not loaded: ")


def api_part(scenario: dict[str, Any], api_name: str) -> dict[str, Any] | None:
    """What ``scenario`` writes into ``api_name`` (with its ``replace``), or None if it names no
    such API. Parent references stay within an API, so a scenario's APIs can be checked and
    loaded one at a time, each when its data set is built (``workspaces.Registry``)."""
    if api_name in META_KEYS or api_name not in scenario:
        return None
    return {api_name: scenario[api_name], **{key: scenario[key] for key in META_KEYS if key in scenario}}


def apply_scenario(scenario: dict[str, Any], workspace: "Workspace") -> dict[str, dict[str, int]]:
    """Write an already-checked scenario into ``workspace``; returns counts per collection."""
    loaded: dict[str, dict[str, int]] = {}
    for api_name, collections in scenario.items():
        if api_name in META_KEYS:
            continue
        if scenario.get("replace"):
            for collection in workspace.collections[api_name].values():
                for record in list(collection.values()):
                    collection.delete(record["id"])
        for collection, records in collections.items():
            target = workspace.collection(api_name, collection)
            for record in records:
                target.put(json.loads(json.dumps(record)))
            loaded.setdefault(api_name, {})[collection] = len(records)
    return loaded
