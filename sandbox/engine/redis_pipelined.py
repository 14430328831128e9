"""Scripts sent to Redis from the server's event loop without waiting there: each reply is
awaited while the loop answers other requests, and what the loop's requests send in one
turn goes out in one write (RESP pipelining: one connection, replies in the order sent).

A read served inline (``sandbox.bridge``) ends with one script, its journal entry, which
also confirms the workspace the process recalled for its token (``redis_registry``). Sent
through redis-py from the loop's thread, it would hold the loop for the whole round trip,
and each request would pay a write, a read and two switches between processes of its own;
here the loop's turn's requests share them. hiredis (which redis-py uses too) packs the
commands and parses the replies.

Nothing here answers a client: a script that cannot be sent or answered in time (Redis
down, restarted, slow) fails its future, and the bridge runs the request again in a thread,
through redis-py, which says 503 in the API's shape if Redis is still away. The connection
is dropped then and made again by the next script.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import hiredis

from .redis_store import CONNECT_TIMEOUT, SOCKET_TIMEOUT


class Unanswered(Exception):
    """The script was not answered: the connection failed, closed or took too long."""


class _Connection(asyncio.Protocol):
    """One connection's futures, in the order their commands were written."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._batch: list[bytes] = []  # commands of this turn of the loop, written together
        self._replies = 0  # replies received so far, for the watch on a stalled connection
        self._watched: asyncio.TimerHandle | None = None

    def send(self, command: tuple[Any, ...]) -> "asyncio.Future[Any]":
        """The future of ``command``'s reply; the command goes out with the turn's others."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self.closed:
            future.set_exception(Unanswered("connection to Redis lost"))
            return future
        self.waiting.append(future)
        if not self._batch:
            loop.call_soon(self._flush)
        self._batch.append(hiredis.pack_command(command))
        return future

    def _flush(self) -> None:
        """Write the turn's commands at once."""
        batch, self._batch = self._batch, []
        if self.closed or self.transport is None:
            return  # connection_lost failed them
        self.transport.write(b"".join(batch))
        if self._watched is None:
            self._watched = asyncio.get_running_loop().call_later(SOCKET_TIMEOUT, self._watch, self._replies)

    def _watch(self, replies: int) -> None:
        """Every ``SOCKET_TIMEOUT`` while replies are due: none came since the last look, the
        connection is dropped (its futures fail; replies still due would answer the wrong ones)."""
        self._watched = None
        if self.waiting and self._replies == replies:
            self.abort()
        elif self.waiting:
            self._watched = asyncio.get_running_loop().call_later(SOCKET_TIMEOUT, self._watch, self._replies)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.waiting:  # a reply nobody asked for: the stream is out of step
                self.abort()
                return
            self._replies += 1
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(Unanswered(f"connection to Redis lost: {exc or 'closed'}"))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()  # connection_lost fails what is waiting


class Pipelined:
    """Scripts on one connection of the running event loop; ``kwargs``: redis-py's connection
    arguments (host, port or path, db, username, password) of the store's client."""

    def __init__(self, kwargs: dict[str, Any], scripts: dict[str, str]) -> None:
        self.kwargs = kwargs
        self.scripts = scripts  # sha -> source, loaded on every new connection
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the connection's (a server has one)

    @staticmethod
    def supports(connection_class: type) -> bool:
        """Whether a store's connections can be made here: TCP or a Unix socket (not TLS)."""
        return connection_class.__name__ in ("Connection", "UnixDomainSocketConnection")

    async def evalsha(self, sha: str, keys: list[Any], args: list[Any]) -> Any:
        """The script's reply (an error reply as a ``hiredis.ReplyError``); ``Unanswered`` if none came."""
        if self._loop is not asyncio.get_running_loop():
            self._loop, self._connection, self._connecting = asyncio.get_running_loop(), None, None
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
        reply = await connection.send(("EVALSHA", sha, len(keys), *keys, *args))
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            connection.abort()  # the server forgot its scripts (restarted, flushed): the next connection loads them
            raise Unanswered(str(reply))
        return reply

    async def _connect(self) -> _Connection:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        kw = self.kwargs
        try:
            if kw.get("path"):
                opening = loop.create_unix_connection(_Connection, kw["path"])
            else:
                opening = loop.create_connection(_Connection, kw.get("host", "localhost"), kw.get("port", 6379))
            _, connection = await asyncio.wait_for(opening, CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            raise Unanswered(f"cannot connect to Redis: {exc}") from exc
        hello: list[tuple[Any, ...]] = []
        if kw.get("password"):
            hello.append(("AUTH", *([kw["username"]] if kw.get("username") else []), kw["password"]))
        hello.append(("SELECT", kw.get("db") or 0))
        hello += [("SCRIPT", "LOAD", source) for source in self.scripts.values()]
        futures = [connection.send(command) for command in hello]
        try:
            replies = await asyncio.wait_for(asyncio.gather(*futures), SOCKET_TIMEOUT)
        except (Unanswered, asyncio.TimeoutError) as exc:
            connection.abort()
            raise Unanswered(f"Redis did not answer the connection's set-up: {exc}") from exc
        failed = [reply for reply in replies if isinstance(reply, hiredis.ReplyError)]
        if failed:
            connection.abort()
            raise Unanswered(f"Redis refused the connection's set-up: {failed[0]}")
        self._connection = connection
        return connection

