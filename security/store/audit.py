"""The audit log in Redis: the chain's head, and the recent records, from which they go to Kafka.

================================== ====== =====================================================
key                                type   holds
================================== ====== =====================================================
``<prefix>:audit:{ops}:head``      hash   ``seq``, ``hash``: the chain's last record
``<prefix>:audit:{ops}:log``       stream one entry per record (field ``r``: its JSON), in
                                          chain order: the outbox to ``riskmon.audit``, and
                                          the recent tail an admin reads
``<prefix>:audit:{ops}:fwd``       string the stream id of the last record sent to Kafka
================================== ====== =====================================================

One hash tag, so the three keys sit on one Redis Cluster slot and one MULTI writes the head
and the record together. Appending is optimistic: WATCH the head, seal the next record
(``security/audit.py``), write both in one MULTI/EXEC, and seal again if another writer got
there first. Every writer (each worker's API, each command) so extends the one chain, in one
order, whatever their number.

:meth:`AuditLog.forward` sends the records not yet sent, in stream order, to the topic and
then moves the pointer: a crash between the two sends some again, which :func:`verify` reads
as duplicates. Once everything is sent the stream is trimmed to its recent tail.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import redis
from redis.asyncio import Redis

from security.audit import DEFAULT_AUDIT_KEY, AuditRecord, Head, seal
from security.exceptions import UnavailableError

__all__ = ["CHAIN", "TAIL", "AuditLog", "Publish"]

#: The one chain today: what people do (through the API and the commands).
CHAIN: Final = "ops"
#: Records the stream keeps once sent (the recent tail).
TAIL: Final = 10_000
_BATCH: Final = 500

#: Sends one message (key, value) to the audit topic; returns once the broker has it.
Publish = Callable[[bytes, bytes], Awaitable[None]]


class AuditLog:
    """The ``ops`` chain of one deployment (``prefix``), sealed under ``key`` (None: the
    default). Every method raises :class:`UnavailableError` while Redis cannot answer."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str,
        key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        base = f"{prefix}:audit:{{{CHAIN}}}"
        self._head, self._log, self._fwd = f"{base}:head", f"{base}:log", f"{base}:fwd"
        self.key = key or DEFAULT_AUDIT_KEY
        self._clock = clock

    async def append(
        self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
    ) -> AuditRecord:
        """Seal and store the next record of the chain; the record."""
        when = dt.datetime.fromtimestamp(self._clock(), dt.UTC).isoformat(timespec="milliseconds")
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(self._head)
                        head = _head(await pipe.hgetall(self._head))
                        rec = seal(
                            self.key,
                            head,
                            chain=CHAIN,
                            time=when,
                            actor=actor,
                            action=action,
                            target=target,
                            details=details or {},
                        )
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.hset(self._head, mapping={"seq": rec.seq, "hash": rec.hash})
                        pipe.xadd(self._log, {"r": rec.to_json()})
                        await pipe.execute()
                        return rec
                    except redis.WatchError:
                        continue  # another writer sealed first: follow its record
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc

    async def heads(self) -> dict[str, Head]:
        """Each chain's head as Redis has it (an empty chain: absent)."""
        try:
            raw = await self._redis.hgetall(self._head)
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc
        return {CHAIN: _head(raw)} if raw else {}

    async def recent(self, count: int = 100) -> list[AuditRecord]:
        """The newest ``count`` records still in the stream, newest first."""
        try:
            entries = await self._redis.xrevrange(self._log, count=count)
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc
        return [AuditRecord.from_json(_record(fields)) for _, fields in entries or []]

    async def forward(self, publish: Publish) -> int:
        """Send the records not sent yet, oldest first, then trim; how many were sent."""
        sent = 0
        try:
            while True:
                after = _text(await self._redis.get(self._fwd))
                start = f"({after}" if after else "-"
                entries = await self._redis.xrange(self._log, min=start, count=_BATCH)
                if not entries:
                    break
                for _, fields in entries:
                    await publish(CHAIN.encode(), _record(fields))
                await self._redis.set(self._fwd, _text(entries[-1][0]))
                sent += len(entries)
            if sent and await self._redis.xlen(self._log) > TAIL:
                await self._redis.xtrim(self._log, maxlen=TAIL, approximate=True)
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc
        return sent


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _record(fields: Any) -> bytes:
    raw = fields.get(b"r", fields.get("r")) if fields else None
    return raw if isinstance(raw, bytes) else str(raw).encode()


def _head(raw: Mapping[Any, Any]) -> Head:
    if not raw:
        return Head()
    got = {_text(k): _text(v) for k, v in raw.items()}
    return Head(int(got["seq"]), got["hash"])
