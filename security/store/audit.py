"""The audit log in Redis: each chain's head, and its recent records, from which they go to Kafka.

==================================== ====== ===================================================
key                                  type   holds
==================================== ====== ===================================================
``<prefix>:audit:{<tag>}:head``      hash   ``seq``, ``hash``: the chain's last record
``<prefix>:audit:{<tag>}:log``       stream one entry per record (field ``r``: its JSON), in
                                            chain order: the outbox to ``riskmon.audit``, and
                                            the recent tail an admin reads
``<prefix>:audit:{<tag>}:fwd``       string the stream id of the last record sent to Kafka
==================================== ====== ===================================================

Chains (:class:`Chain`): ``ops``, what people do (tag ``{ops}``), and one per partition of the
events topic, ``p000``..., what the stream decided (tag ``{p000}``..., the partition's own, so
that supervision's atomic write in ``supervision/store/store.py`` appends to it in the same
MULTI as the rest of the partition's state: exactly once, as its ledger is). A chain's three
keys share its tag: one Redis Cluster slot, one MULTI for head and record.

Appending to ``ops`` (:meth:`AuditLog.append`) is optimistic: WATCH the head, seal the next
record (``security/audit.py``), write both in one MULTI/EXEC, and seal again if another writer
got there first. Every writer (each worker's API, each command) so extends the one chain.

:func:`forward` sends each chain's records not yet sent, in stream order, to the topic and
then moves its pointer: a crash between the two sends some again, which verification reads as
duplicates. Once everything is sent a stream is trimmed to its recent tail. An anchor record
(``audit.anchor``) in ``ops`` binds the partition chains' heads at a moment into the one chain
whose head the verifier checks (:func:`security.audit.anchor`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import redis
from redis.asyncio import Redis

from security.audit import DEFAULT_AUDIT_KEY, AuditRecord, Head, seal
from security.exceptions import UnavailableError

__all__ = [
    "TAIL",
    "AuditLog",
    "Chain",
    "Publish",
    "chains",
    "forward",
    "heads",
    "iso",
    "ops_chain",
    "read_head",
    "recent",
]

#: Records a stream keeps once sent (the recent tail).
TAIL: Final = 10_000
_BATCH: Final = 500

#: Sends the messages (key, value) of one batch to the audit topic, in order; returns once the
#: broker has them all.
Publish = Callable[[Sequence[tuple[bytes, bytes]]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Chain:
    """One chain's name and keys."""

    name: str
    head: str
    log: str
    fwd: str

    @classmethod
    def of(cls, prefix: str, name: str) -> Chain:
        base = f"{prefix}:audit:{{{name}}}"
        return cls(name, f"{base}:head", f"{base}:log", f"{base}:fwd")

    @classmethod
    def partition(cls, prefix: str, partition: int) -> Chain:
        """The chain of an events partition: ``p007``, under the partition's hash tag."""
        return cls.of(prefix, f"p{partition:03d}")


def ops_chain(prefix: str) -> Chain:
    """The chain of what people do."""
    return Chain.of(prefix, "ops")


def iso(t: float) -> str:
    """A record's time: RFC 3339, UTC, milliseconds."""
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds")


def read_head(raw: Mapping[Any, Any]) -> Head:
    """A head from its hash as Redis returns it (empty: an empty chain)."""
    if not raw:
        return Head()
    got = {_text(k): _text(v) for k, v in raw.items()}
    return Head(int(got["seq"]), got["hash"])


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
        self.chain = ops_chain(prefix)
        self.key = key or DEFAULT_AUDIT_KEY
        self._clock = clock

    async def append(
        self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
    ) -> AuditRecord:
        """Seal and store the next record of ``ops``; the record."""
        c, when = self.chain, iso(self._clock())
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(c.head)
                        head = read_head(await pipe.hgetall(c.head))
                        rec = seal(
                            self.key,
                            head,
                            chain=c.name,
                            time=when,
                            actor=actor,
                            action=action,
                            target=target,
                            details=details or {},
                        )
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.hset(c.head, mapping={"seq": rec.seq, "hash": rec.hash})
                        pipe.xadd(c.log, {"r": rec.to_json()})
                        await pipe.execute()
                        return rec
                    except redis.WatchError:
                        continue  # another writer sealed first: follow its record
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc


async def recent(client: Redis, chain: Chain, count: int) -> list[AuditRecord]:
    """The newest ``count`` records of ``chain`` still in its stream (the recent tail), newest
    first."""
    try:
        entries = await client.xrevrange(chain.log, count=count)
    except redis.RedisError as exc:
        raise UnavailableError(f"Redis: {exc}") from exc
    return [AuditRecord.from_json(_record(fields)) for _, fields in entries or []]


def chains(prefix: str, partitions: int) -> list[Chain]:
    """Every chain of a deployment with ``partitions`` events partitions: ``ops`` first."""
    return [ops_chain(prefix), *(Chain.partition(prefix, p) for p in range(partitions))]


async def heads(client: Redis, prefix: str, partitions: int) -> dict[str, Head]:
    """Each non-empty chain's head as Redis has it."""
    found = {}
    try:
        for c in chains(prefix, partitions):
            raw = await client.hgetall(c.head)
            if raw:
                found[c.name] = read_head(raw)
    except redis.RedisError as exc:
        raise UnavailableError(f"Redis: {exc}") from exc
    return found


async def forward(client: Redis, chains_: Sequence[Chain], publish: Publish) -> int:
    """Send each chain's records not sent yet, oldest first, then trim; how many were sent."""
    sent = 0
    try:
        for c in chains_:
            done = 0
            while True:
                after = _text(await client.get(c.fwd))
                start = f"({after}" if after else "-"
                entries = await client.xrange(c.log, min=start, count=_BATCH)
                if not entries:
                    break
                await publish([(c.name.encode(), _record(fields)) for _, fields in entries])
                await client.set(c.fwd, _text(entries[-1][0]))
                done += len(entries)
            if done and await client.xlen(c.log) > TAIL:
                await client.xtrim(c.log, maxlen=TAIL, approximate=True)
            sent += done
    except redis.RedisError as exc:
        raise UnavailableError(f"Redis: {exc}") from exc
    return sent


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _record(fields: Any) -> bytes:
    raw = fields.get(b"r", fields.get("r")) if fields else None
    return raw if isinstance(raw, bytes) else str(raw).encode()
