"""apply.lua, read from the package once and run by its SHA-1 (EVALSHA).

The script travels to Redis only when Redis lacks it (a restart, SCRIPT FLUSH): a call answered
NOSCRIPT loads it and runs the calls again, which is safe because every call is idempotent. Not
redis-py's ``register_script``: in a pipeline that one asks Redis whether the script exists
before every batch, a round trip the worker would pay per batch.

apply.lua names the positions of its fields (``local C_POINTS = 4``; the wire layout, see
``scoring/store/wire.py``). Redis' Lua 5.1 reads such a local from the function's upvalues, an
instruction at every use, and the evaluation loops use them per contribution and per guess.
So :func:`inline_constants` writes the numbers where the names are used before the script goes
to Redis: the file reads by name, Redis runs literal indices, and every line keeps its number
(an error's line number is the file's).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as rexc

from scoring.exceptions import StoreError
from scoring.store.errors import redis_errors
from scoring.store.plan import Call

__all__ = ["APPLY", "SCRIPT", "SOURCE", "Script", "inline_constants", "lua_constants"]

#: ``local NAME, OTHER = 1, 2`` at the start of a line (a line may break after a comma or the
#: ``=``): integer constants of the script.
_CONSTANTS = re.compile(
    r"^local ([A-Z][A-Z0-9_]*(?:,\s*[A-Z][A-Z0-9_]*)*)\s*=\s*(\d+(?:,\s*\d+)*)$", re.M
)


def lua_constants(source: str) -> dict[str, int]:
    """The integer constants ``source`` declares (``local C_POINTS = 4``), by name. Raises
    ValueError on a declaration whose names and numbers do not pair up."""
    values: dict[str, int] = {}
    for m in _CONSTANTS.finditer(source):
        names, numbers = re.split(r",\s*", m.group(1)), re.split(r",\s*", m.group(2))
        if len(names) != len(numbers):
            raise ValueError(f"{m.group(0)!r} pairs {len(names)} names with {len(numbers)} numbers")
        values.update(zip(names, map(int, numbers), strict=True))
    return values


def inline_constants(source: str) -> str:
    """``source`` with every use of its integer constants (:func:`lua_constants`) replaced by
    the number. The declarations stay as written (unused), so the result is valid Lua, has the
    lines of ``source``, and goes through this function unchanged."""
    values = {name: str(v) for name, v in lua_constants(source).items()}
    if not values:
        return source
    use = re.compile(r"\b(" + "|".join(map(re.escape, values)) + r")\b")
    parts, pos = [], 0
    for m in _CONSTANTS.finditer(source):
        parts += [use.sub(lambda u: values[u.group(1)], source[pos : m.start()]), m.group(0)]
        pos = m.end()
    parts.append(use.sub(lambda u: values[u.group(1)], source[pos:]))
    return "".join(parts)


#: ``scoring/store/apply.lua``, every write (apply and reclassify), as written.
SOURCE = resources.files(__package__).joinpath("apply.lua").read_text("utf-8")
#: apply.lua as Redis runs it: :data:`SOURCE` through :func:`inline_constants`.
SCRIPT = inline_constants(SOURCE)


@dataclass(frozen=True, slots=True)
class Script:
    """apply.lua (as shipped, or a variant a benchmark times) as Redis runs it, its SHA-1, and
    how to run calls of it. Build with :meth:`of`."""

    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Script:
        """The script of Lua ``source`` (constants inlined)."""
        runs = inline_constants(source)
        return cls(runs, hashlib.sha1(runs.encode()).hexdigest())

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
