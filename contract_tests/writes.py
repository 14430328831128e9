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

from typing import Any

from .judge import Judge
from .lists import ListProbe, identity
from .resolve import Resolver
from .spec import ApiSpec, Op


class WriteProbe:
    def __init__(self, judge: Judge, resolver: Resolver, lists: ListProbe) -> None:
        self.judge = judge
        self.spec: ApiSpec = judge.spec
        self.resolver = resolver
        self.lists = lists
        self.created: list[tuple[Op, dict[str, Any]]] = []  # (item DELETE, path) to clean up

    def creates(self) -> list[Op]:
        found = [o for o in self.spec.ops.values() if o.method == "post" and o.request_schema()
                 and (self.spec.item_op(o.path) or (self.spec.op_at(o.path, "get") or _NO).items_key)]
        return sorted(found, key=lambda o: o.path.count("{"))

    def run(self, op: Op) -> None:
        args = self.resolver.args(op)
        if args is None:
            self.judge.report.notes.append(f"{op.label}: no value for a required parameter; write checks skipped")
            return
        path, query = args
        body = build(op.request_schema() or {}, self.judge.tag)
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
        item_path = {**path, _last_param(item.path): created.get("id")} if item else None
        if item and self.spec.item_op(op.path, "delete"):
            self.remember(op.path, created)
        if item_path and any(p.startswith(op.path + "/{") for p in self.spec.raw.get("paths", {})):
            self._adopt(op.path, item, item_path)
        read = self._read(op, path, query, item, item_path, created)
        self.judge.verify(op, "create_reads_back", read == created and _has_sent(read, body),
                          f"created {identity(created)}; read back {read!r:.300} vs created {created!r:.300}", case)
        if item and read is not None:
            self._update(op, item, item_path)
            self._archive(op, item, item_path)

    def created_ids(self) -> set[str]:
        return {str(v) for _, path in self.created for v in path.values()}

    def remember(self, collection: str, record: dict[str, Any]) -> None:
        item = self.spec.item_op(collection)
        delete = self.spec.item_op(collection, "delete")
        if item and delete and isinstance(record, dict) and "id" in record:
            self.created.append((delete, {_last_param(item.path): record["id"]}))

    def _adopt(self, collection: str, item: Op, item_path: dict[str, Any]) -> None:
        """Later creates under this record (``/customers/{id}/users``) use the kit's own record."""
        for other in self.spec.ops.values():
            if other.path.startswith(item.path + "/") and other.method == "post":
                self.resolver._args.pop(other.id, None)
        self.resolver.known.update(item_path)

    def _read(self, op: Op, path: dict[str, Any], query: dict[str, Any], item: Op | None,
              item_path: dict[str, Any] | None, created: dict[str, Any]) -> Any:
        if item:
            _, response = self.judge.request(item, item_path)
            return response.json() if response.status_code == 200 else None
        listing = self.spec.op_at(op.path, "get")
        items = self.lists.walk(listing, path, {**query, **({listing.page_size: 100} if listing.page_size else {})},
                                limit=100) or []
        return next((i for i in items if identity(i) == identity(created)), None)

    def _update(self, create: Op, item: Op, item_path: dict[str, Any]) -> None:
        update = self.spec.item_op(create.path, "patch") or self.spec.item_op(create.path, "put")
        if update is None:
            return
        schema = update.request_schema() or {}
        field = next((n for n, s in schema.get("properties", {}).items() if _plain(s)), None)
        if field is None:
            return
        change = {field: f"{self.judge.tag} updated"}
        case, response = self.judge.request(update, item_path, body=change)
        if not 200 <= response.status_code < 300:
            self.judge.verify(update, "update_reads_back", False, f"update answered {response.status_code}", case)
            return
        _, read = self.judge.request(item, item_path)
        after = read.json() if read.status_code == 200 else None
        self.judge.verify(update, "update_reads_back",
                          after is not None and after.get(field) == change[field] and
                          (response.status_code == 204 or response.json() == after),
                          f"sent {change}; the answer has {_get(response, field)!r}, "
                          f"a read {(after or {}).get(field)!r}", case)

    def _archive(self, create: Op, item: Op, item_path: dict[str, Any]) -> None:
        delete = self.spec.item_op(create.path, "delete")
        if delete is None:
            return
        restore = self.spec.op_at(item.path + "/restore", "post")
        case, response = self.judge.request(delete, item_path)
        if not 200 <= response.status_code < 300:
            self.judge.verify(delete, "archive_restore", False, f"delete answered {response.status_code}", case)
            return
        _, read = self.judge.request(item, item_path)
        if restore is None:
            self.judge.verify(delete, "archive_restore", read.status_code in (404, 410),
                              f"after the delete a read answered {read.status_code}, not 404/410", case)
            return
        archived = response.json() if response.status_code != 204 else None
        self.judge.verify(delete, "archive_restore", read.status_code == 200 and
                          (archived is None or read.json() == archived),
                          f"after the archive a read answered {read.status_code}: {_text(read)}", case)
        case, restored = self.judge.request(restore, item_path)
        _, again = self.judge.request(item, item_path)
        self.judge.verify(restore, "archive_restore", restored.status_code == 200 and again.status_code == 200
                          and again.json() == restored.json(),
                          f"restore answered {restored.status_code}; a read then {again.status_code}", case)

    def cleanup(self) -> None:
        """Archive or delete what the kit created (what is already archived is left as is)."""
        for delete, path in self.created:
            self.judge.request(delete, path)


class _NoOp:
    items_key = None


_NO = _NoOp()


def build(schema: dict[str, Any], tag: str) -> dict[str, Any]:
    """A valid body the kit can recognise: its plain text fields carry the tag."""
    body: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        value = _sample(name, prop, tag)
        if value is not None or name in required:
            body[name] = value
    return body


def _sample(name: str, schema: dict[str, Any], tag: str) -> Any:
    if "example" in schema and name != "name":
        return schema["example"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    types = schema.get("type")
    kind = next((t for t in (types if isinstance(types, list) else [types]) if t != "null"), None)
    if kind == "string" and schema.get("format") == "email":
        return f"{tag}@example.com"
    if _plain(schema):
        return tag
    if kind == "integer" or kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return None


def _plain(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    types = schema.get("type")
    return "string" in (types if isinstance(types, list) else [types]) \
        and not {"pattern", "enum", "const", "format"} & schema.keys() and schema.get("maxLength", 255) >= 40


def _last_param(path: str) -> str:
    return path.rsplit("{", 1)[1].rstrip("}")


def _has_sent(record: Any, body: dict[str, Any]) -> bool:
    return isinstance(record, dict) and all(record.get(k) == v for k, v in body.items())


def _get(response: Any, field: str) -> Any:
    try:
        return response.json().get(field)
    except (ValueError, AttributeError):
        return None


def _text(response: Any) -> str:
    return response.text[:200]
