"""Scenario fixtures: records written by hand, loaded into a workspace whole or not at all.

A scenario is a YAML or JSON mapping ``{api: {collection: [record, ...]}}`` with two
optional keys: ``description`` and ``replace`` (true: the APIs it names are emptied before
loading, so the workspace holds only the scenario's records for them). Every record is
checked against its collection's spec schema, ids must be unique, and parent references
(e.g. a business's ``customer_id``) must resolve, before anything is written.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import Detail, ValidationFailed, summarize

if TYPE_CHECKING:
    from .api import ApiDefinition
    from .store import Workspace

META_KEYS = ("description", "replace")


def read_scenario(path: str | Path) -> dict[str, Any]:
    """Parse a scenario file (YAML, which includes JSON); ValidationFailed if it is not a mapping."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"{path}: not valid YAML/JSON: {exc}", [Detail(str(path), "cannot be parsed")]) from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"{path}: a scenario is a mapping of API -> collection -> records",
                               [Detail(str(path), "is not a mapping")])
    return data


def _problems(scenario: dict[str, Any], apis: dict[str, "ApiDefinition"], workspace: "Workspace | None") -> list[Detail]:
    problems: list[Detail] = []
    replace = scenario.get("replace", False)
    if not isinstance(replace, bool):
        problems.append(Detail("replace", "must be true or false"))
    ids: dict[tuple[str, str], set[str]] = {}
    for api_name, collections in scenario.items():
        if api_name in META_KEYS:
            continue
        api = apis.get(api_name)
        if api is None or not api.spec.collections:
            known = ", ".join(sorted(n for n, a in apis.items() if a.spec.collections))
            problems.append(Detail(api_name, f"is not an API with collections (known: {known})"))
            continue
        if not isinstance(collections, dict):
            problems.append(Detail(api_name, "must map collection names to lists of records"))
            continue
        for collection, records in collections.items():
            where = f"{api_name}.{collection}"
            if collection not in api.spec.collections:
                known = ", ".join(sorted(api.spec.collections))
                problems.append(Detail(where, f"{api_name} has no collection {collection!r} (it has: {known})"))
                continue
            if not isinstance(records, list):
                problems.append(Detail(where, "must be a list of records"))
                continue
            seen = ids.setdefault((api_name, collection), set())
            for i, record in enumerate(records):
                found = api.record_problems(collection, record, f"{where}[{i}]")
                problems.extend(found)
                if found or not isinstance(record, dict):
                    continue
                if record["id"] in seen:
                    problems.append(Detail(f"{where}[{i}].id", f"{record['id']!r} appears twice in the scenario"))
                seen.add(record["id"])
    if problems:
        return problems
    return _reference_problems(scenario, apis, workspace, ids, replace)


def _reference_problems(scenario, apis, workspace, ids, replace) -> list[Detail]:
    problems = []
    for api_name, collections in scenario.items():
        if api_name in META_KEYS:
            continue
        config = apis[api_name].spec.collections
        for collection, records in collections.items():
            parent = config[collection].get("parent")
            if not parent:
                continue
            known = ids.get((api_name, parent["collection"]), set())
            existing = None if (replace or workspace is None) else workspace.collection(api_name, parent["collection"])
            for i, record in enumerate(records):
                ref = record.get(parent["field"])
                if ref not in known and (existing is None or ref not in existing):
                    problems.append(Detail(f"{api_name}.{collection}[{i}].{parent['field']}",
                                           f"{ref!r} is not a {parent['collection']} record of the scenario or the workspace"))
    return problems


def check_scenario(scenario: dict[str, Any], apis: list["ApiDefinition"], workspace: "Workspace | None" = None,
                   source: str = "scenario") -> None:
    """Raise ValidationFailed naming every bad record and field; return if all is well."""
    problems = _problems(scenario, {a.name: a for a in apis}, workspace)
    if problems:
        raise ValidationFailed(f"{source} was not loaded: {summarize(problems)}", problems)


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
