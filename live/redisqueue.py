"""The Redis queue, with the semantics of Laravel's ``RedisQueue`` and ``LuaScripts``.

Keys (under our own key prefix, like Laravel's ``prefix`` option): the list
``queues:NAME`` of ready jobs, the sorted set ``queues:NAME:reserved`` (score:
when the reservation expires), the sorted set ``queues:NAME:delayed`` (score:
when the job is due) and the list ``queues:NAME:notify``. A payload is JSON with
an ``id`` and an ``attempts`` count, as Laravel's.

* **push**: one script ``RPUSH queue payload; RPUSH notify 1``; a wave is pushed
  in one ``MULTI``/``EXEC`` (as ``bulk()`` does), here together with its dispatch
  log entry in the list ``log``, so the log is exact; the run copies it into the
  database's dispatch log at the end.
* **later**: ``ZADD delayed available_at payload``.
* **pop**: first *migrate* (one script each for ``delayed`` and ``reserved``: move
  every member whose score is due onto the end of the list), then one script
  ``LPOP``, ``attempts + 1``, ``ZADD reserved now + retry_after reserved-payload``.
  An expired reservation is migrated back and popped again: redelivery.
* **delete** (``deleteReserved``): ``ZREM reserved reserved-payload``.
* **release**: one script ``ZREM reserved``, ``ZADD delayed``.

redis-py is the client: it is Redis's own maintained Python client, it
registers scripts with ``EVALSHA`` (falling back to ``EVAL``) and has
transactional pipelines, which is all this needs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import redis

from live.jobqueue import Reserved, dumps

__all__ = ["KEY_PREFIX", "RedisQueue"]

KEY_PREFIX = "wavesim_live:"

_PUSH = """
redis.call('rpush', KEYS[1], ARGV[1])
redis.call('rpush', KEYS[2], 1)
return 1
"""

_POP = """
local job = redis.call('lpop', KEYS[1])
local reserved = false
if job then
    local decoded = cjson.decode(job)
    decoded['attempts'] = decoded['attempts'] + 1
    reserved = cjson.encode(decoded)
    redis.call('zadd', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[2]), reserved)
end
return {job, reserved}
"""

_MIGRATE = """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1])
if #due > 0 then
    redis.call('zremrangebyrank', KEYS[1], 0, #due - 1)
    for i = 1, #due, 100 do
        redis.call('rpush', KEYS[2], unpack(due, i, math.min(i + 99, #due)))
        redis.call('rpush', KEYS[3], 1)
    end
end
return #due
"""

_RELEASE = """
redis.call('zrem', KEYS[2], ARGV[1])
redis.call('zadd', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

_READY_BATCHES = """
local n = 0
for _, job in ipairs(redis.call('lrange', KEYS[1], 0, -1)) do
    if string.find(job, '"kind":"batch"', 1, true) then n = n + 1 end
end
return n
"""


class RedisQueue:
    """One process's view of the Redis queue ``name``."""

    kind = "redis"

    def __init__(self, url: str, name: str, *, retry_after: float, key_prefix: str = KEY_PREFIX) -> None:
        self.name, self.retry_after = name, retry_after
        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        base = f"{key_prefix}queues:{name}"
        self.key, self.reserved_key, self.delayed_key = base, f"{base}:reserved", f"{base}:delayed"
        self.notify_key, self.log_key = f"{base}:notify", f"{base}:log"
        self._push = self.client.register_script(_PUSH)
        self._pop = self.client.register_script(_POP)
        self._migrate = self.client.register_script(_MIGRATE)
        self._release = self.client.register_script(_RELEASE)
        self._ready = self.client.register_script(_READY_BATCHES)

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _payload(payload: dict[str, Any], attempts: int = 0) -> str:
        return dumps({**payload, "id": payload.get("id") or uuid.uuid4().hex, "attempts": attempts})

    def push_wave(self, payloads: list[dict[str, Any]], log: dict[str, Any] | None) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            for p in payloads:
                self._push(keys=[self.key, self.notify_key], args=[self._payload(p)], client=pipe)
            if log is not None:
                pipe.rpush(self.log_key, json.dumps(log))
            pipe.execute()

    def later(self, payload: dict[str, Any], delay: float) -> None:
        self.client.zadd(self.delayed_key, {self._payload(payload): time.time() + delay})

    def pop(self, hook: Callable[[], None] | None = None) -> Reserved | None:
        now = time.time()
        self._migrate(keys=[self.delayed_key, self.key, self.notify_key], args=[now])
        self._migrate(keys=[self.reserved_key, self.key, self.notify_key], args=[now])
        if hook is not None:
            hook()  # no transaction is open on Redis; the point is between the migration and the pop
        job, reserved = self._pop(keys=[self.key, self.reserved_key], args=[now, self.retry_after])
        if not reserved:
            return None
        data = json.loads(reserved)
        return Reserved(payload=data, attempts=int(data["attempts"]), handle=reserved)

    def delete(self, job: Reserved) -> None:
        self.client.zrem(self.reserved_key, job.handle)

    def release(self, job: Reserved, delay: float) -> None:
        self._release(keys=[self.delayed_key, self.reserved_key], args=[job.handle, time.time() + delay])

    def retry(self, job: Reserved, payload: dict[str, Any], delay: float) -> None:
        """``release`` with a new payload (a spec's job carries its try count): one ``MULTI``/``EXEC``."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.reserved_key, job.handle)
            pipe.zadd(self.delayed_key, {self._payload(payload, job.attempts): time.time() + delay})
            pipe.execute()

    def snapshot(self) -> list[tuple[dict[str, Any], str]]:
        """Every job of the queue and its state: ``ready``, ``delayed`` or ``reserved``."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.lrange(self.key, 0, -1)
            pipe.zrange(self.delayed_key, 0, -1)
            pipe.zrange(self.reserved_key, 0, -1)
            ready, delayed, reserved = pipe.execute()
        return [(json.loads(raw), state) for state, raws in (("ready", ready), ("delayed", delayed),
                                                              ("reserved", reserved)) for raw in raws]

    def counts(self) -> tuple[int, int]:
        with self.client.pipeline(transaction=True) as pipe:
            self._ready(keys=[self.key], client=pipe)
            pipe.llen(self.key)
            pipe.zcard(self.delayed_key)
            pipe.zcard(self.reserved_key)
            ready, listed, delayed, reserved = pipe.execute()
        return int(ready), int(listed) + int(delayed) + int(reserved)

    def delayed(self) -> list[tuple[Any, dict[str, Any]]]:
        due = cast(list[bytes], self.client.zrangebyscore(self.delayed_key, time.time(), "+inf"))
        return [(raw, json.loads(raw)) for raw in due]

    def remove(self, handle: Any) -> bool:
        return bool(self.client.zrem(self.delayed_key, handle))

    def reserved(self) -> list[tuple[Any, dict[str, Any]]]:
        held = cast(list[bytes], self.client.zrange(self.reserved_key, 0, -1))
        return [(raw, json.loads(raw)) for raw in held]

    def expire(self, handle: Any) -> bool:
        """Make a reservation due now, so the next pop migrates it back: a second delivery."""
        return int(self.client.zadd(self.reserved_key, {handle: 0}, xx=True, ch=True) or 0) > 0

    def dispatch_log_rows(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.client.lrange(self.log_key, 0, -1)]

    def clear(self) -> None:
        self.client.delete(self.key, self.reserved_key, self.delayed_key, self.notify_key, self.log_key)

    def clean_all(self) -> int:
        """Delete every key under our prefix (``--clean``); how many."""
        prefix = self.key.split("queues:")[0]
        keys = list(self.client.scan_iter(match=f"{prefix}*", count=500))
        return int(self.client.delete(*keys)) if keys else 0
