"""Deliberately broken implementations: WSGI middleware around the sandbox, each breaking one rule.

``CATALOGUE`` maps a name to (API, middleware factory, the checks that must report it).
``DIFFERENT`` is a correct implementation that differs where the documents are silent.
"""
from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Rewrite:
    """Pass a request through, after ``request`` edits it, and let ``response`` edit the JSON answer."""

    def __init__(self, app: Any, token: str = "") -> None:
        self.app = app
        self.token = token

    def request(self, environ: dict[str, Any]) -> None:
        """Edit the WSGI environ in place."""

    def response(self, environ: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
        return status, body

    def call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            captured.update(status=status, headers=headers)
            return lambda data: None

        payload = b"".join(self.app(environ, start))
        return int(captured["status"].split()[0]), captured["headers"], payload

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        self.request(environ)
        status, headers, payload = self.call(environ)
        try:
            body = json.loads(payload) if payload else None
        except ValueError:
            body = None
        new_status, new_body = self.response(environ, status, body)
        if new_body is not None or new_status != status:
            payload = json.dumps(new_body).encode() if new_body is not None else payload
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(payload))))
        try:
            phrase = HTTPStatus(new_status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{new_status} {phrase}", headers)
        return [payload]


def query(environ: dict[str, Any]) -> dict[str, str]:
    return dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))


def set_query(environ: dict[str, Any], values: dict[str, Any]) -> None:
    environ["QUERY_STRING"] = urlencode(values)


def is_(environ: dict[str, Any], method: str, pattern: str) -> bool:
    return environ["REQUEST_METHOD"] == method and re.fullmatch(pattern, environ["PATH_INFO"]) is not None


BUSINESSES = r"/billing/v1/customers/[^/]+/businesses"
CUSTOMERS = r"/payments/customers"
CUSTOMER = r"/payments/customers/[^/]+"


class WrongFieldType(Rewrite):
    def response(self, environ, status, body):
        if is_(environ, "GET", BUSINESSES) and status == 200:
            for item in body["data"]:
                item["name"] = 12345
        return status, body


class MissingRequiredField(Rewrite):
    def response(self, environ, status, body):
        if is_(environ, "GET", BUSINESSES) and status == 200:
            for item in body["data"]:
                item.pop("status", None)
        return status, body


class UndocumentedStatus(Rewrite):
    """A customer that does not exist is 410 Gone (the spec documents 404)."""

    def response(self, environ, status, body):
        return (410, body) if is_(environ, "GET", CUSTOMER) and status == 404 else (status, body)


class ServerErrorOnOddInput(Rewrite):
    """Crashes on a ``limit`` that is not a plain number."""

    def __call__(self, environ, start_response):
        if "limit" in query(environ) and not query(environ)["limit"].isdigit():
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"Traceback (most recent call last): ValueError"]
        return super().__call__(environ, start_response)


class InvalidInputAccepted(Rewrite):
    """A list with an invalid parameter answers an empty page instead of 400."""

    def response(self, environ, status, body):
        if is_(environ, "GET", BUSINESSES) and status == 400:
            return 200, {"data": [], "limit": 10, "offset": 0}
        return status, body


class PageDropsItem(Rewrite):
    """A page reached by a cursor leaves out its first item."""

    def response(self, environ, status, body):
        if is_(environ, "GET", CUSTOMERS) and status == 200 and "after" in query(environ) and body["data"]:
            body["data"] = body["data"][1:]
        return status, body


class PageRepeatsItem(Rewrite):
    """An offset page starts one item early, repeating the previous page's last item."""

    def request(self, environ):
        values = query(environ)
        if is_(environ, "GET", BUSINESSES) and values.get("offset", "0").isdigit() \
                and 0 < int(values.get("offset", 0)) <= 1_000_000:
            values["offset"] = str(int(values["offset"]) - 1)
            set_query(environ, values)


class IgnoredFilter(Rewrite):
    """A valid ``status`` filter is accepted and not applied."""

    def request(self, environ):
        values = query(environ)
        if is_(environ, "GET", BUSINESSES) and values.get("status") in ("active", "archived"):
            del values["status"]
            set_query(environ, values)


class IgnoredLimit(Rewrite):
    """A valid ``limit`` is accepted and not applied (every page has the default size)."""

    def request(self, environ):
        values = query(environ)
        if is_(environ, "GET", CUSTOMERS) and values.get("limit", "").isdigit() and 1 <= int(values["limit"]) <= 100:
            del values["limit"]
            set_query(environ, values)


class CreatedReadsBack404(Rewrite):
    """The create answers an id that was never stored."""

    def response(self, environ, status, body):
        if is_(environ, "POST", CUSTOMERS) and status == 201:
            body["id"] = str(uuid.UUID(int=7))
        return status, body


class CreatedReadsBackDifferent(Rewrite):
    """A created customer's name is stored (and answered) upper-cased."""

    def request(self, environ):
        if is_(environ, "POST", CUSTOMERS):
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            try:
                body = json.loads(raw)
                if isinstance(body, dict) and isinstance(body.get("name"), str):
                    body["name"] = body["name"].upper()
                raw = json.dumps(body).encode()
            except ValueError:
                pass
            environ["wsgi.input"] = io.BytesIO(raw)
            environ["CONTENT_LENGTH"] = str(len(raw))


class LostUpdate(Rewrite):
    """A patch is validated and answered as usual, then quietly undone."""

    def __call__(self, environ, start_response):
        if not is_(environ, "PATCH", CUSTOMER):
            return super().__call__(environ, start_response)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status, _, before = self.call({**environ, "REQUEST_METHOD": "GET", "CONTENT_LENGTH": "0",
                                       "wsgi.input": io.BytesIO(b"")})
        environ["wsgi.input"] = io.BytesIO(raw)
        answer = super().__call__(environ, start_response)
        try:
            change, old = json.loads(raw), json.loads(before)
        except ValueError:
            return answer
        if status == 200 and isinstance(change, dict):
            undo = json.dumps({k: old[k] for k in change if k in old}).encode()
            self.call({**environ, "wsgi.input": io.BytesIO(undo), "CONTENT_LENGTH": str(len(undo))})
        return answer


class IgnoredAuth(Rewrite):
    """Any request, with or without a valid token, is served as the kit's own workspace."""

    def request(self, environ):
        environ["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"


class WrongErrorBody(Rewrite):
    """Commerce's errors are JSON:API's error objects, which its document names as its
    conventions (payments' document defines no error body, so there it would be a decision)."""

    def response(self, environ, status, body):
        if environ["PATH_INFO"].startswith("/commerce/") and 400 <= status < 500:
            return status, {"message": "something went wrong"}
        return status, body


class CorrectButDifferent(Rewrite):
    """Where the payments document is silent: ids in upper case, another order within a page,
    and a field of its own on customers (the document lists request fields only)."""

    def request(self, environ):
        environ["PATH_INFO"] = "/".join(p.lower() if UUID.match(p.lower()) else p
                                        for p in environ["PATH_INFO"].split("/"))

    def response(self, environ, status, body):
        if not environ["PATH_INFO"].startswith("/payments/") or not isinstance(body, dict):
            return status, body
        records = body.get("data") if isinstance(body.get("data"), list) else [body]
        for record in records:
            for key, value in list(record.items()):
                if (key == "id" or key.endswith("_id")) and isinstance(value, str) and UUID.match(value):
                    record[key] = value.upper()
            if "archived_at" in record:
                record["metadata"] = {}
        if isinstance(body.get("data"), list):
            body["data"] = list(reversed(body["data"]))
        return status, body


@dataclass(frozen=True)
class Broken:
    api: str
    middleware: type[Rewrite]
    checks: frozenset[str]


CATALOGUE: dict[str, Broken] = {
    "wrong field type": Broken("billing", WrongFieldType, frozenset({"response_schema_conformance"})),
    "missing required field": Broken("billing", MissingRequiredField, frozenset({"response_schema_conformance"})),
    "undocumented status": Broken("payments", UndocumentedStatus, frozenset({"status_code_conformance"})),
    "500 on odd input": Broken("payments", ServerErrorOnOddInput, frozenset({"not_a_server_error"})),
    "invalid input accepted": Broken("billing", InvalidInputAccepted, frozenset({"negative_data_rejection"})),
    "page drops an item": Broken("payments", PageDropsItem, frozenset({"pagination"})),
    "page repeats an item": Broken("billing", PageRepeatsItem, frozenset({"pagination"})),
    "ignored filter": Broken("billing", IgnoredFilter, frozenset({"filters"})),
    "ignored limit": Broken("payments", IgnoredLimit, frozenset({"page_size"})),
    "created reads back 404": Broken("payments", CreatedReadsBack404, frozenset({"create_reads_back"})),
    "created reads back different": Broken("payments", CreatedReadsBackDifferent, frozenset({"create_reads_back"})),
    "lost update": Broken("payments", LostUpdate, frozenset({"update_reads_back"})),
    "ignored auth": Broken("payments", IgnoredAuth, frozenset({"auth_required"})),
    "wrong error body": Broken("commerce", WrongErrorBody, frozenset({"response_schema_conformance"})),
}
DIFFERENT = Broken("payments", CorrectButDifferent, frozenset())
