"""The delivery outbox in Redis: each (subscriber, message id) enqueued once, tried until
delivered or dead, and listed for ``GET /webhooks/deliveries``.

Key layout (``<prefix>`` is ``RISKMON_REDIS_PREFIX``). The outbox is not per events partition:
its volume is that of alerts, not events. Every key carries the hash tag ``{wh}``, so each
transaction below touches one Redis Cluster slot:

============================== ======= ==========================================================
key                            type    holds
============================== ======= ==========================================================
``<prefix>:wh:{wh}:meta``      hash    entry → JSON: subscriber, message id, type, severity,
                                       state (pending, delivered, dead), attempts, enqueued,
                                       last status and error, next attempt, finished
``<prefix>:wh:{wh}:body``      hash    entry → the bytes to send (dropped when it finishes)
``<prefix>:wh:{wh}:due``       zset    entry → when to try it next (pending entries only)
``<prefix>:wh:{wh}:recent``    zset    entry → when it was enqueued (the listing's order)
``<prefix>:wh:{wh}:done``      zset    entry → when it finished (trimmed after the retention)
``<prefix>:wh:{wh}:count``     hash    state → entries in that state
============================== ======= ==========================================================

An entry is ``<subscriber>|<message id>``. Enqueueing is a WATCHed transaction on ``meta``:
an entry already there (a redelivered or re-published message) is not enqueued again, for as
long as it is kept (the retention of finished entries, a week by default). Claiming due
entries moves them a lease ahead in one WATCHed transaction on ``due``, so two senders never
try the same entry at once; a sender that dies mid-attempt leaves it due again when the lease
ends. Secrets are never stored here: only what the listing shows and the body to send.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast, get_args

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from schemas.codec import dumps, loads
from scoring.store.errors import redis_errors

__all__ = [
    "STATES",
    "DeliveryPage",
    "DeliveryRecord",
    "NewEntry",
    "Outbox",
    "OutboxKeys",
    "State",
]

State = Literal["pending", "delivered", "dead"]
STATES: Final[tuple[State, ...]] = get_args(State)
#: How many entries a listing looks at for one page at most (filters skip the rest).
_SCAN_CAP: Final = 5_000
_SCAN_STEP: Final = 200


def _names(raw: Any) -> list[str]:
    return [bytes(f).decode() for f in cast(list[Any], raw)]


@dataclass(frozen=True, slots=True)
class OutboxKeys:
    prefix: str

    def _k(self, name: str) -> str:
        return f"{self.prefix}:wh:{{wh}}:{name}"

    @property
    def meta(self) -> str:
        return self._k("meta")

    @property
    def body(self) -> str:
        return self._k("body")

    @property
    def due(self) -> str:
        return self._k("due")

    @property
    def recent(self) -> str:
        return self._k("recent")

    @property
    def done(self) -> str:
        return self._k("done")

    @property
    def count(self) -> str:
        return self._k("count")


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One delivery to enqueue: to ``subscriber``, the message ``message_id``, as ``body``."""

    subscriber: str
    message_id: str
    type: str
    severity: str | None
    body: bytes

    @property
    def field(self) -> str:
        return f"{self.subscriber}|{self.message_id}"


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery as it stands. Times are seconds since the epoch (None: not applicable)."""

    subscriber: str
    message_id: str
    type: str
    severity: str | None
    state: State
    attempts: int
    enqueued_at: float
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: float | None = None
    finished_at: float | None = None

    @property
    def field(self) -> str:
        return f"{self.subscriber}|{self.message_id}"

    def after(
        self, ok: bool, status: int | None, error: str | None, now: float, next_at: float | None
    ) -> DeliveryRecord:
        """This delivery after one more attempt at ``now``: delivered if ``ok``, else pending
        until ``next_at``, or dead if that is None."""
        state: State = "delivered" if ok else ("dead" if next_at is None else "pending")
        return dataclasses.replace(
            self,
            state=state,
            attempts=self.attempts + 1,
            last_status=status,
            last_error=None if ok else error,
            next_attempt_at=next_at if state == "pending" else None,
            finished_at=None if state == "pending" else now,
        )

    def given_up(self, error: str, now: float) -> DeliveryRecord:
        """This delivery dead without another attempt (its subscriber is gone)."""
        return dataclasses.replace(
            self, state="dead", last_error=error, next_attempt_at=None, finished_at=now
        )

    def to_json(self) -> bytes:
        return dumps(
            {
                "s": self.subscriber,
                "id": self.message_id,
                "type": self.type,
                "sev": self.severity,
                "state": self.state,
                "n": self.attempts,
                "at": self.enqueued_at,
                "status": self.last_status,
                "error": self.last_error,
                "next": self.next_attempt_at,
                "fin": self.finished_at,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> DeliveryRecord:
        d: dict[str, Any] = loads(raw)
        return cls(
            d["s"],
            d["id"],
            d["type"],
            d["sev"],
            d["state"],
            d["n"],
            d["at"],
            d["status"],
            d["error"],
            d["next"],
            d["fin"],
        )


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    """Deliveries newest first; ``next_cursor``: pass it back for the next page (None: last)."""

    deliveries: Sequence[DeliveryRecord]
    next_cursor: str | None


class Outbox:
    """The outbox under ``prefix`` (see the module's docstring). Every method raises
    ``scoring.exceptions.StoreUnavailableError`` (retry) or ``StoreError``."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._client = client
        self.keys = OutboxKeys(prefix)

    async def enqueue(self, entries: Sequence[NewEntry], now: float) -> int:
        """Enqueue those of ``entries`` not already in the outbox, due at ``now``; returns how
        many were new. Atomic: all or none of the new ones, whatever else writes."""
        if not entries:
            return 0
        k = self.keys
        unique: dict[str, NewEntry] = {}
        for e in entries:  # the same message twice in one call is one entry
            unique.setdefault(e.field, e)
        fields = list(unique)
        entries = list(unique.values())
        with redis_errors("enqueueing deliveries"):
            async with self._client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(k.meta)
                        there = await pipe.hmget(k.meta, fields)
                        new = [e for e, t in zip(entries, there, strict=True) if t is None]
                        if not new:
                            await pipe.unwatch()  # type: ignore[no-untyped-call]
                            return 0
                        pipe.multi()  # type: ignore[no-untyped-call]
                        for e in new:
                            rec = DeliveryRecord(
                                e.subscriber, e.message_id, e.type, e.severity, "pending", 0, now
                            )
                            pipe.hset(k.meta, e.field, rec.to_json())
                            pipe.hset(k.body, e.field, e.body)
                            pipe.zadd(k.due, {e.field: now})
                            pipe.zadd(k.recent, {e.field: now})
                        pipe.hincrby(k.count, "pending", len(new))
                        await pipe.execute()
                        return len(new)
                    except WatchError:
                        continue

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[str]:
        """Up to ``limit`` entries due by ``now``, moved ``lease_seconds`` ahead so that no other
        sender takes them meanwhile; [] if none (or another sender claimed at the same time)."""
        k = self.keys
        with redis_errors("claiming deliveries"):
            async with self._client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(k.due)
                    raw = await pipe.zrangebyscore(k.due, "-inf", now, start=0, num=limit)
                    fields = _names(raw)
                    if not fields:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return []
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.zadd(k.due, dict.fromkeys(fields, now + lease_seconds), xx=True)
                    await pipe.execute()
                except WatchError:
                    return []
        return fields

    async def load(self, field: str) -> tuple[DeliveryRecord, bytes | None] | None:
        """An entry and its body (None once it finished); None: no such entry."""
        k = self.keys
        with redis_errors("reading a delivery"):
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.hget(k.meta, field)
                pipe.hget(k.body, field)
                meta, body = await pipe.execute()
        if meta is None:
            return None
        return DeliveryRecord.from_json(meta), body

    async def retry(self, rec: DeliveryRecord) -> None:
        """Store ``rec`` (still pending) and make it due at its ``next_attempt_at``."""
        assert rec.state == "pending" and rec.next_attempt_at is not None
        k = self.keys
        with redis_errors("rescheduling a delivery"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(k.meta, rec.field, rec.to_json())
                pipe.zadd(k.due, {rec.field: rec.next_attempt_at})
                await pipe.execute()

    async def finish(self, rec: DeliveryRecord) -> None:
        """Store ``rec`` as delivered or dead: out of the due index, its body dropped."""
        assert rec.state != "pending" and rec.finished_at is not None
        k = self.keys
        with redis_errors("finishing a delivery"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(k.meta, rec.field, rec.to_json())
                pipe.hdel(k.body, rec.field)
                pipe.zrem(k.due, rec.field)
                pipe.zadd(k.done, {rec.field: rec.finished_at})
                pipe.hincrby(k.count, "pending", -1)
                pipe.hincrby(k.count, rec.state, 1)
                await pipe.execute()

    async def trim(self, before: float, limit: int = 500) -> int:
        """Forget up to ``limit`` entries finished before ``before``; returns how many. (A
        message enqueued again after that is delivered again.)"""
        k = self.keys
        with redis_errors("trimming the outbox"):
            raw = await self._client.zrangebyscore(k.done, "-inf", before, start=0, num=limit)
            fields = _names(raw)
            if not fields:
                return 0
            metas = cast(list[bytes | None], await self._client.hmget(k.meta, fields))
            states: dict[str, int] = {}
            for m in metas:
                if m is not None:
                    st = DeliveryRecord.from_json(m).state
                    states[st] = states.get(st, 0) + 1
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hdel(k.meta, *fields)
                pipe.zrem(k.recent, *fields)
                pipe.zrem(k.done, *fields)
                for s, n in states.items():
                    pipe.hincrby(k.count, s, -n)
                await pipe.execute()
        return len(fields)

    async def counts(self) -> dict[str, int]:
        """Entries per state (every state, 0 if none)."""
        with redis_errors("counting deliveries"):
            raw = cast(Mapping[bytes, bytes], await self._client.hgetall(self.keys.count))
        got = {k.decode(): int(v) for k, v in raw.items()}
        return {s: max(0, got.get(s, 0)) for s in STATES}

    async def deliveries(
        self,
        *,
        state: State | None = None,
        subscriber: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> DeliveryPage:
        """Deliveries newest first (by enqueue time), filtered by ``state`` and ``subscriber``,
        ``limit`` a page, after ``cursor`` (a ``next_cursor`` this returned). Raises ValueError
        for a cursor it did not make. Looks at no more than 5,000 entries for one page."""
        k = self.keys
        top: float | str = "+inf"
        after: tuple[float, str] | None = None
        if cursor is not None:
            score, sep, field = cursor.partition("/")
            try:
                after = (float(score), field)
            except ValueError:
                raise ValueError("not a cursor of this listing") from None
            if not sep or not field or not math.isfinite(after[0]):
                raise ValueError("not a cursor of this listing")
            top = after[0]
        out: list[DeliveryRecord] = []
        looked, offset, last, more, stop = 0, 0, "", False, False
        with redis_errors("listing deliveries"):
            while not stop:
                raw = await self._client.zrevrangebyscore(
                    k.recent, top, "-inf", start=offset, num=_SCAN_STEP, withscores=True
                )
                stop = len(raw) < _SCAN_STEP  # the end of the listing
                offset += len(raw)
                batch = [(bytes(f).decode(), float(s)) for f, s in cast(list[Any], raw)]
                if after is not None:
                    # Equal scores come by name, descending: skip to past the cursor's entry.
                    batch = [(f, s) for f, s in batch if s < after[0] or f < after[1]]
                metas = cast(
                    list[bytes | None],
                    await self._client.hmget(k.meta, [f for f, _ in batch]) if batch else [],
                )
                for i, ((f, s), m) in enumerate(zip(batch, metas, strict=True)):
                    looked += 1
                    last = f"{s!r}/{f}"
                    rec = None if m is None else DeliveryRecord.from_json(m)
                    if (
                        rec is not None
                        and state in (None, rec.state)
                        and subscriber in (None, rec.subscriber)
                    ):
                        out.append(rec)
                    if len(out) >= limit or looked >= _SCAN_CAP:
                        more = i + 1 < len(batch) or not stop
                        stop = True
                        break
        return DeliveryPage(out, last if more else None)
