"""A workspace's request state in Redis, shared by every worker and replica: its rate-limit
bucket (a Lua token bucket on the server's clock), how many of its requests are delayed,
and its request journal (LPUSH + LTRIM in one script, newest first: one command and one
reply per request, where a MULTI of the two sends four and parses four)."""
from __future__ import annotations

from typing import Any

import orjson

from .controls import Traffic
from .inline import defer
from .journal import Journal
from .redis_store import Client

ASLEEP_TTL = 60  # seconds: a count of delayed requests left by a killed process fades

_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = math.max(1, rate)
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or capacity)
local stamp = tonumber(redis.call('HGET', KEYS[1], 's') or now)
tokens = math.min(capacity, tokens + (now - stamp) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 's', string.format('%.17g', now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {taken, string.format('%.17g', tokens)}
"""


_APPEND = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
"""


class RedisJournal(Journal):
    """``journal.Journal`` kept in a Redis list of JSON entries."""

    def __init__(self, client: Client, key: str, size: int) -> None:
        super().__init__(size)
        self._client, self._key = client, key
        self._append_script = client.register_script(_APPEND)

    def _append(self, entry: dict[str, Any], check: Any = None) -> None:
        if check is None:
            self._append_script(keys=[self._key], args=[orjson.dumps(entry), self.size])
        else:  # written by the bridge, if the recalled lookup still holds (else run again, afresh)
            data = orjson.dumps(entry)
            defer(lambda: check(self._key, data, self.size))

    def _newest_first(self) -> list[dict[str, Any]]:
        return [orjson.loads(e) for e in self._client.lrange(self._key, 0, self.size - 1)]


class RedisTraffic(Traffic):
    """``controls.Traffic`` for a workspace in Redis; keys under ``prefix``."""

    def __init__(self, client: Client, prefix: str, journal_size: int) -> None:
        super().__init__(journal_size)
        self.journal = RedisJournal(client, f"{prefix}:journal", journal_size)
        self._client = client
        self._bucket = f"{prefix}:bucket"
        self._asleep_key = f"{prefix}:asleep"
        self._bucket_script = client.register_script(_BUCKET)

    def _take(self, rate: float) -> float | None:
        taken, tokens = self._bucket_script(keys=[self._bucket], args=[repr(float(rate))])
        return None if taken else float(tokens)

    @property
    def asleep(self) -> int:
        return int(self._client.get(self._asleep_key) or 0)

    def _enter(self) -> int:
        pipe = self._client.pipeline(transaction=True)
        pipe.incr(self._asleep_key)
        pipe.expire(self._asleep_key, ASLEEP_TTL)
        return pipe.execute()[0]

    def _leave(self) -> None:
        self._client.decr(self._asleep_key)
