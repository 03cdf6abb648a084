"""apply.lua, read from the package once and run by its SHA-1 (EVALSHA).

The script travels to Redis only when Redis lacks it (a restart, SCRIPT FLUSH): a call answered
NOSCRIPT loads it and runs the calls again, which is safe because every call is idempotent. Not
redis-py's ``register_script``: in a pipeline that one asks Redis whether the script exists
before every batch, a round trip the worker would pay per batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as rexc

from scoring.exceptions import StoreError
from scoring.store.errors import redis_errors
from scoring.store.plan import Call

__all__ = ["APPLY", "SCRIPT", "Script"]

#: The Lua source of every write (apply and reclassify): ``scoring/store/apply.lua``.
SCRIPT = resources.files(__package__).joinpath("apply.lua").read_text("utf-8")


@dataclass(frozen=True, slots=True)
class Script:
    """apply.lua's source (as shipped, or a variant a benchmark times) and its SHA-1, and how
    to run calls of it."""

    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Script:
        return cls(source, hashlib.sha1(source.encode()).hexdigest())

    async def run(self, client: aioredis.Redis, calls: Sequence[Call]) -> list[Any]:
        """The reply of each call (keys, args), sent in one round trip. Raises
        StoreUnavailableError or StoreError (:mod:`scoring.store.errors`)."""
        with redis_errors("apply.lua"):
            try:
                return await self._send(client, calls)
            except rexc.NoScriptError:
                await client.script_load(self.source)
            try:
                return await self._send(client, calls)
            except rexc.NoScriptError:
                raise StoreError("redis lost apply.lua right after loading it") from None

    async def _send(self, client: aioredis.Redis, calls: Sequence[Call]) -> list[Any]:
        if len(calls) == 1:
            keys, args = calls[0]
            return [await client.evalsha(self.sha, len(keys), *keys, *args)]
        async with client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self.sha, len(keys), *keys, *args)
            replies: list[Any] = await pipe.execute()
            return replies


#: apply.lua as shipped.
APPLY = Script.of(SCRIPT)
