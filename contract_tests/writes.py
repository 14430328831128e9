"""Writes, checked end to end on records the kit creates (and archives or deletes at the end).

- ``create_status``: a create answers the one success status the spec documents;
- ``create_reads_back``: the created record reads back (item read, or the list it belongs to)
  equal to the create's answer, with every field sent;
- ``update_reads_back``: an update's answer and the next read agree and carry the change;
- ``archive_restore``: after a delete the record answers as the spec states (still readable
  when the spec has a restore, else 404/410); a restore brings it back as it was.

A create is a POST on a path that has a list (GET, same path) or an item read (``/{id}``);
the records the kit creates carry its tag (``contract-test-...``) in their plain text fields.
"""
from __future__ import annotations

import copy
from typing import Any

from .judge import Judge
from .lists import ListProbe, identity, required_args
from .resolve import Resolver
from .spec import ApiSpec, Op


class WriteProbe:
    def __init__(self, judge: Judge, resolver: Resolver, lists: ListProbe) -> None:
        self.judge = judge
        self.spec: ApiSpec = judge.spec
        self.resolver = resolver
        self.lists = lists
        self.created: list[tuple[Op, dict[str, Any], dict[str, Any]]] = []  # (DELETE, path, query)

    def creates(self) -> list[Op]:
        found = [o for o in self.spec.ops.values() if o.method == "post" and o.request_schema()
                 and (self.spec.item_op(o.path) or (self.spec.op_at(o.path, "get") or _NO).items_key)]
        return sorted(found, key=lambda o: o.path.count("{"))

    def run(self, op: Op) -> None:
        args = required_args(self.judge, self.resolver, op, "write")
        if args is None:
            return
        path, query = args
        body = body_for(op, self.judge.tag)
        case, response = self.judge.request(op, path, query, body)
        success = op.success()
        if success:
            self.judge.verify(op, "create_status", response.status_code == int(success[0]),
                              f"expected {success[0]}, got {response.status_code}", case,
                              derived=success[0] not in op.doc_node.get("responses", {}))
        if not 200 <= response.status_code < 300:
            return
        created = response.json()
        item = self.spec.item_op(op.path)
        item_path = {**path, _last_param(item.path): record_id(created)} if item else None
        if item and self.spec.item_op(op.path, "delete"):
            self.remember(op.path, created, query)
        if item_path and any(p.startswith(item.path + "/") for p in self.spec.raw.get("paths", {})):
            self._adopt(item, item_path)
        read = self._read(op, path, query, item, item_path, created)
        self.judge.verify(op, "create_reads_back", read == created and contains(read, body),
                          f"created {record_id(created)}; read back {read!r:.300} vs created {created!r:.300}",
                          case)
        if item and read is not None:
            self._update(op, item, item_path, query, created)
            self._archive(op, item, item_path, query)

    def created_ids(self) -> set[str]:
        return {str(path[_last_param(delete.path)]) for delete, path, _ in self.created}

    def remember(self, collection: str, record: Any, query: dict[str, Any] | None = None) -> None:
        item = self.spec.item_op(collection)
        delete = self.spec.item_op(collection, "delete")
        if item and delete and record_id(record) is not None:
            self.created.append((delete, {_last_param(item.path): record_id(record)}, _for(delete, query or {})))

    def _adopt(self, item: Op, item_path: dict[str, Any]) -> None:
        """Later creates under this record (``/customers/{id}/users``) use the kit's own record."""
        for other in self.spec.ops.values():
            if other.path.startswith(item.path + "/") and other.method == "post":
                self.resolver._args.pop(other.id, None)
        self.resolver.known.update(item_path)

    def _read(self, op: Op, path: dict[str, Any], query: dict[str, Any], item: Op | None,
              item_path: dict[str, Any] | None, created: dict[str, Any]) -> Any:
        if item:
            _, response = self.judge.request(item, item_path, _for(item, query))
            return response.json() if response.status_code == 200 else None
        listing = self.spec.op_at(op.path, "get")
        items = self.lists.walk(listing, path, {**query, **({listing.page_size: 100} if listing.page_size else {})},
                                limit=100) or []
        return next((i for i in items if identity(i) == str(record_id(created))), None)

    def _update(self, create: Op, item: Op, item_path: dict[str, Any], query: dict[str, Any],
                created: Any) -> None:
        update = self.spec.item_op(create.path, "patch") or self.spec.item_op(create.path, "put")
        if update is None or not update.request_schema():
            return
        change = body_for(update, f"{self.judge.tag} updated", record_id(created), fallback=create)
        if not change:
            return
        case, response = self.judge.request(update, item_path, _for(update, query), change)
        if not 200 <= response.status_code < 300:
            self.judge.verify(update, "update_reads_back", False, f"update answered {response.status_code}", case)
            return
        _, read = self.judge.request(item, item_path, _for(item, query))
        after = read.json() if read.status_code == 200 else None
        answer = None if response.status_code == 204 else response.json()
        self.judge.verify(update, "update_reads_back", contains(after, change) and answer in (None, after),
                          f"sent {change!r:.200}; the answer {answer!r:.200}, a read {after!r:.200}", case)

    def _archive(self, create: Op, item: Op, item_path: dict[str, Any], query: dict[str, Any]) -> None:
        delete = self.spec.item_op(create.path, "delete")
        if delete is None:
            return
        restore = self.spec.op_at(item.path + "/restore", "post")
        case, response = self.judge.request(delete, item_path, _for(delete, query))
        if not 200 <= response.status_code < 300:
            self.judge.verify(delete, "archive_restore", False, f"delete answered {response.status_code}", case)
            return
        _, read = self.judge.request(item, item_path, _for(item, query))
        if restore is None:
            self.judge.verify(delete, "archive_restore", read.status_code in (404, 410),
                              f"after the delete a read answered {read.status_code}, not 404/410", case)
            return
        archived = response.json() if response.status_code != 204 else None
        self.judge.verify(delete, "archive_restore", read.status_code == 200 and
                          (archived is None or read.json() == archived),
                          f"after the archive a read answered {read.status_code}: {read.text[:200]}", case)
        case, restored = self.judge.request(restore, item_path, _for(restore, query))
        _, again = self.judge.request(item, item_path, _for(item, query))
        self.judge.verify(restore, "archive_restore", restored.status_code == 200 and again.status_code == 200
                          and again.json() == restored.json(),
                          f"restore answered {restored.status_code}; a read then {again.status_code}", case)

    def cleanup(self) -> None:
        """Archive or delete what the kit created (what is already archived is left as is)."""
        for delete, path, query in self.created:
            self.judge.request(delete, path, query)


class _NoOp:
    items_key = None


_NO = _NoOp()


def body_for(op: Op, tag: str, record: Any = None, fallback: Op | None = None) -> Any:
    """A body for a create or an update the kit can recognise: the spec's example (or, without
    one, a body built from the schema) with its ``name`` fields set to the tag, and an ``id``
    the schema requires set to the record's own."""
    example = op.request_example()
    if example is None and fallback is not None:
        example = fallback.request_example()
    body = copy.deepcopy(example) if example is not None else build(op.request_schema() or {}, tag)
    return retag(op.request_schema() or {}, body, tag, record)


def retag(schema: dict[str, Any], body: Any, tag: str, record: Any) -> Any:
    if not isinstance(body, dict):
        return body
    props = properties(schema)
    if record is not None and "id" in _required(schema):
        body["id"] = record
    for key, value in body.items():
        if key == "name" and (value is None or isinstance(value, str)):
            body[key] = tag
        elif isinstance(value, dict):
            body[key] = retag(props.get(key, {}), value, tag, record)
    return body


def properties(schema: dict[str, Any]) -> dict[str, Any]:
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props.update(part.get("properties", {}))
    return props


def _required(schema: dict[str, Any]) -> set[str]:
    return set(schema.get("required", [])).union(*(p.get("required", []) for p in schema.get("allOf", [])))


def build(schema: dict[str, Any], tag: str) -> dict[str, Any]:
    """A valid body from the schema alone: plain text fields carry the tag, nested objects the
    schema requires are built the same way."""
    body: dict[str, Any] = {}
    required = _required(schema)
    for name, prop in properties(schema).items():
        if prop.get("readOnly"):
            continue
        value = build(prop, tag) if _kind(prop) == "object" and name in required else _sample(name, prop, tag)
        if value not in (None, {}) or name in required:
            body[name] = value
    return body


def _kind(schema: dict[str, Any]) -> str | None:
    types = schema.get("type")
    return next((t for t in (types if isinstance(types, list) else [types]) if t != "null"), None)


def _sample(name: str, schema: dict[str, Any], tag: str) -> Any:
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "example" in schema and name != "name":
        return schema["example"]
    kind = _kind(schema)
    if kind == "string" and schema.get("format") == "email":
        return f"{tag.split()[0]}@example.com"
    if plain(schema):
        return tag
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return None


def record_id(record: Any) -> Any:
    """A record's id: its own ``id``, or a JSON:API document's ``data.id``."""
    if isinstance(record, dict):
        if "id" in record:
            return record["id"]
        if isinstance(record.get("data"), dict):
            return record["data"].get("id")
    return None


def contains(record: Any, sent: Any) -> bool:
    """Whether ``record`` holds every value ``sent`` (objects compared key by key, recursively)."""
    if isinstance(sent, dict):
        return isinstance(record, dict) and all(contains(record.get(k), v) for k, v in sent.items())
    return record == sent


def _for(op: Op, query: dict[str, Any]) -> dict[str, Any]:
    """The query parameters of ``query`` that ``op`` takes (``o`` on every commerce route)."""
    return {k: v for k, v in query.items() if k in op.params}


def plain(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    types = schema.get("type")
    return "string" in (types if isinstance(types, list) else [types]) \
        and not {"pattern", "enum", "const", "format"} & schema.keys() and schema.get("maxLength", 255) >= 40


def _last_param(path: str) -> str:
    return path.rsplit("{", 1)[1].rstrip("}")
