"""Supervision's state in Redis: read what a batch needs, fold it, write the effects atomically.

:meth:`SupervisionStore.apply` runs :func:`supervision.step.step` for one partition's share of a
batch (its events in log order). It reads the partition's event-time watermark, the events'
entries of supervision's own ledger (``sup:seen``), what falls due by the batch's events, and
the tasks and observations those name; folds; and writes the :class:`~supervision.step.Effects`
in one MULTI/EXEC under WATCH of the partition's meta key (``sup:m``), raising its ``v``
counter. If another client wrote the partition between the read and the write (a zombie worker
after a rebalance, still finishing a batch), EXEC is refused and the whole call is redone from
the read: the ledger then holds what the other one applied, and nothing is applied twice.

With warning rules, the enterprises' warning states (``sup:warn``) are read and written with
the rest, so their warnings are exactly once too (``supervision/warnings.py``); the address
cluster, which spans partitions, is asked after the MULTI (``supervision/store/addresses.py``).

Every key of a call carries the partition's hash tag (``supervision/store/keys.py``), so one
call touches one Redis Cluster slot. Errors: Redis unavailable raises
:class:`~scoring.exceptions.StoreUnavailableError` (retry: the call is idempotent), any other
Redis error :class:`~scoring.exceptions.StoreError` (:mod:`scoring.store.errors`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from alerts.warnings.config import WarningsConfig
from alerts.warnings.enterprise import Rules
from alerts.warnings.state import decode_state, encode_state
from scoring.exceptions import StoreError
from scoring.store import Keys as ScoringKeys
from scoring.store import ledger_field
from scoring.store.errors import redis_errors
from security.audit import AuditRecord, Head, seal
from security.store.audit import Chain, read_head
from supervision.audit import entries
from supervision.config import SupervisionConfig
from supervision.ledger import decode_messages, encode_messages
from supervision.records import (
    ObservationRecord,
    TaskRecord,
    decode_observation,
    decode_task,
    encode_observation,
    encode_task,
)
from supervision.step import Effects, Input, Loaded, step, wants
from supervision.store.addresses import Addresses
from supervision.store.keys import SupervisionKeys

__all__ = ["SupervisionStore"]

log = logging.getLogger(__name__)

#: Redos of one call refused by a concurrent write before giving up (a bug, not a race: two
#: workers own a partition together only for the moments of a rebalance).
MAX_REDOS = 50


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _named(due: Sequence[tuple[int, str]], kind: str) -> set[str]:
    """What the due members of ``kind`` (``t`` or ``obs``) name: task ids or USCCs."""
    head = kind + ":"
    return {m[len(head) :] for _, m in due if m.startswith(head)}


def _changes_nothing(loaded: Loaded, e: Effects) -> bool:
    return e.ew == loaded.ew and not (
        e.tasks
        or e.observations
        or e.due_set
        or e.due_removed
        or e.seen
        or e.discovery
        or e.last_inspectors
        or e.warnings
    )


class SupervisionStore:
    """Async access to supervision's state for the worker: :meth:`apply` (exactly once per
    event) and the reads the ticker needs."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        config: SupervisionConfig,
        model_version: str,
        lateness: int,
        audit_key: bytes | None = None,
        warnings: WarningsConfig | None = None,
        thresholds: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        """``lateness``: the scoring model's allowed lateness in seconds
        (``scoring.fold.Params.of(model).lateness``); supervision's due entries fire by the
        same rule as time-driven class changes. ``audit_key``: the audit log's key; given,
        every class change is recorded in the partition's audit chain (``supervision/audit.py``)
        in the same MULTI. ``warnings``: the early-warning rules (None: none run), with the
        scoring model's class ``thresholds`` (micro-points) near-boundary measures against."""
        self._prefix = prefix
        self._audit_key = audit_key
        self._client = client
        self.keys = SupervisionKeys(prefix)
        self.config = config
        self.model_version = model_version
        self.lateness = lateness
        #: Calls redone because another client wrote the partition first (for tests, metrics).
        self.redos = 0
        self.rules = Rules.of(warnings, thresholds) if warnings is not None else None
        self._addresses = (
            Addresses(client, self.keys, self.rules)
            if self.rules is not None and self.rules.address
            else None
        )

    async def apply(
        self, partition: int, inputs: Sequence[Input], fence: int = -1, top: int = -1
    ) -> Effects:
        """Fold ``inputs`` (``partition``'s events of one batch, in log order) into the
        partition's supervision state and write the effects; their ``messages`` (one list per
        input) are what to send. An event already in the ledger changes nothing and gets the
        messages it got the first time. Idempotent: a retry after any error re-sends the same.

        ``fence``: the scoring store's (``Store.fence``): if the partition's scoring watermark
        is below it, Redis lost writes this batch builds on, and StoreError (LOSTWRITES) is
        raised with nothing written. ``top``: the batch's highest offset of the partition,
        kept as supervision's own offset watermark (:meth:`watermark`), with the write.
        """
        effects = await self._apply(partition, inputs, fence, top)
        if self._addresses is not None:
            extra, counted = await self._addresses.apply(inputs)
            for j, msgs in extra.items():
                effects.messages[j] = [*effects.messages[j], *msgs]
            effects.raised.update(counted)
        return effects

    async def _apply(
        self, partition: int, inputs: Sequence[Input], fence: int, top: int
    ) -> Effects:
        w = wants(inputs, self.lateness)
        for _ in range(MAX_REDOS):
            with redis_errors("supervision's write"):
                async with self._client.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(self.keys.meta(partition))
                        # (a failover after the fence's read fails the EXEC of the WATCH)
                        loaded, audit_head, wm = await self._load(partition, w, fence)
                        effects = step(
                            loaded,
                            inputs,
                            self.config,
                            self.model_version,
                            self.lateness,
                            self.rules,
                        )
                        if _changes_nothing(loaded, effects) and top <= wm:
                            return effects  # a redelivery: nothing to write (UNWATCHed on exit)
                        records = self._audit_records(
                            partition, inputs, loaded, effects, audit_head
                        )
                        pipe.multi()  # type: ignore[no-untyped-call]
                        self._write(pipe, partition, effects)
                        if top > wm:
                            pipe.hset(self.keys.meta(partition), "wm", top)
                        self._write_audit(pipe, partition, records)
                        await pipe.execute()
                        return effects
                    except WatchError:
                        self.redos += 1
                        log.warning(
                            "supervision of partition %s was written by another worker during"
                            " this batch: redoing it from the read",
                            partition,
                        )
        raise RuntimeError(
            f"supervision of partition {partition}: {MAX_REDOS} concurrent writes in a row"
        )

    async def watermark(self, partition: int) -> int | None:
        """The highest offset of ``partition`` whose supervision is written: -1 if nothing
        is, None if the state was written before supervision kept one (no ``wm`` beside the
        other fields). Below the scoring watermark after Redis lost the supervision of a batch
        but not its scores: the rewind goes back to the lower."""
        with redis_errors("reading supervision's watermark"):
            wm, version = await self._client.hmget(self.keys.meta(partition), ["wm", "v"])
        if wm is not None:
            return int(wm)
        return None if version is not None else -1

    async def _load(self, partition: int, w: Any, fence: int) -> tuple[Loaded, Head, int]:
        """Read what ``w`` (:class:`~supervision.step.Wants`) names, the head of the
        partition's audit chain and supervision's offset watermark (-1: none), on a connection
        of its own after the WATCH: a write between the two is caught by EXEC. Raises
        StoreError (LOSTWRITES) if the scoring watermark is below ``fence``."""
        k = self.keys
        hashes = sorted(w.hashes)
        pipe = self._client.pipeline(transaction=False)
        pipe.hmget(k.meta(partition), ["ew", "wm"])
        pipe.hget(ScoringKeys(self._prefix).meta(partition), "wm")
        pipe.zrangebyscore(k.due(partition), "-inf", w.due_until, withscores=True)
        pipe.hgetall(Chain.partition(self._prefix, partition).head)
        if hashes:
            pipe.hmget(k.seen(partition), [ledger_field(h) for h in hashes])
        warned = sorted(w.usccs) if self.rules is not None else []
        if warned:
            pipe.hmget(k.warnings(partition), warned)
        rows = await pipe.execute()
        (ew_raw, wm_raw), scored = rows.pop(0), int(rows.pop(0) or -1)
        if scored < fence:
            raise StoreError(
                f"LOSTWRITES offset watermark {scored} of partition {partition} is below"
                f" {fence}, which Redis acknowledged: re-read from {scored + 1}"
            )
        due_rows = cast("list[tuple[bytes, float]]", rows[0])
        audit_head = read_head(rows[1])
        seen_raw = rows[2] if hashes else []
        warn_raw = rows[-1] if warned else []
        due = [(int(score), _text(m)) for m, score in due_rows]
        task_ids = sorted(set(w.tasks) | _named(due, "t"))
        usccs = sorted(set(w.usccs) | _named(due, "obs"))
        tasks: dict[str, TaskRecord] = {}
        observations: dict[str, ObservationRecord] = {}
        if task_ids or usccs:
            pipe = self._client.pipeline(transaction=False)
            if task_ids:
                pipe.hmget(k.tasks(partition), task_ids)
            if usccs:
                pipe.hmget(k.observations(partition), usccs)
            got = list(await pipe.execute())
            if task_ids:
                for tid, raw in zip(task_ids, got.pop(0), strict=True):
                    if raw is not None:
                        tasks[tid] = decode_task(raw)
            if usccs:
                for uscc, raw in zip(usccs, got.pop(0), strict=True):
                    if raw is not None:
                        observations[uscc] = decode_observation(raw)
        seen = {
            h: decode_messages(raw)
            for h, raw in zip(hashes, seen_raw, strict=True)
            if raw is not None
        }
        loaded = Loaded(
            ew=int(ew_raw or 0),
            seen=seen,
            tasks=tasks,
            observations=observations,
            due=due,
            warnings={
                u: decode_state(raw)
                for u, raw in zip(warned, warn_raw, strict=True)
                if raw is not None
            },
        )
        return loaded, audit_head, int(wm_raw or -1)

    def _audit_records(
        self,
        partition: int,
        inputs: Sequence[Input],
        loaded: Loaded,
        effects: Effects,
        head: Head,
    ) -> list[AuditRecord]:
        # Sealed on the chain's head as read with the rest: only this partition's supervision
        # writes its chain, and the WATCHed meta key guards the whole call.
        if self._audit_key is None:
            return []
        listed = entries(inputs, effects, loaded.tasks, self.model_version)
        if not listed:
            return []
        chain = Chain.partition(self._prefix, partition)
        records = []
        for e in listed:
            rec = seal(
                self._audit_key,
                head,
                chain=chain.name,
                time=e.time,
                actor=e.actor,
                action=e.action,
                target=e.target,
                details=e.details,
            )
            records.append(rec)
            head = Head(rec.seq, rec.hash)
        return records

    def _write_audit(self, pipe: Any, partition: int, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        chain = Chain.partition(self._prefix, partition)
        last = records[-1]
        pipe.hset(chain.head, mapping={"seq": last.seq, "hash": last.hash})
        for rec in records:
            pipe.xadd(chain.log, {"r": rec.to_json()})

    def _write(self, pipe: Any, partition: int, e: Effects) -> None:
        """Queue ``e``'s writes in the MULTI of ``pipe`` (the ``v`` counter always moves)."""
        k = self.keys
        pipe.hset(k.meta(partition), "ew", e.ew)
        pipe.hincrby(k.meta(partition), "v", 1)
        if e.tasks:
            pipe.hset(k.tasks(partition), mapping={t: encode_task(r) for t, r in e.tasks.items()})
        if e.observations:
            pipe.hset(
                k.observations(partition),
                mapping={u: encode_observation(r) for u, r in e.observations.items()},
            )
        if e.due_removed:
            pipe.zrem(k.due(partition), *sorted(e.due_removed))
        if e.due_set:
            pipe.zadd(k.due(partition), cast(Mapping[Any, Any], e.due_set))
        if e.seen:
            fields = {ledger_field(h): encode_messages(m) for h, m in e.seen.items()}
            pipe.hset(k.seen(partition), mapping=fields)
        if e.warnings:
            pipe.hset(
                k.warnings(partition),
                mapping={u: encode_state(s) for u, s in e.warnings.items()},
            )
        for field, n in sorted(e.discovery.items()):
            pipe.hincrby(k.discovery(partition), field, n)
        if e.last_inspectors:
            pipe.hset(
                k.last_inspectors(partition),
                mapping={
                    u: msgpack.packb(list(ids), use_bin_type=True)
                    for u, ids in e.last_inspectors.items()
                },
            )

    async def earliest_due(self, partition: int, until: int) -> tuple[int, str] | None:
        """(due, member) of the entry of ``partition`` that falls due first, if it does at or
        before ``until`` (event time, Unix s); None otherwise."""
        with redis_errors("reading supervision's due index"):
            rows = await self._client.zrangebyscore(
                self.keys.due(partition), "-inf", until, start=0, num=1, withscores=True
            )
        pairs = cast("list[tuple[bytes, float]]", rows)
        return (int(pairs[0][1]), _text(pairs[0][0])) if pairs else None

    async def uscc_of(self, partition: int, member: str) -> str | None:
        """The enterprise a due ``member`` concerns (``t:<task id>``: its task's; None if the
        task is not stored)."""
        if member.startswith("obs:"):
            return member[4:]
        if member.startswith("rem:"):
            return member[4:].split("|", 1)[0]
        if member.startswith("t:"):
            with redis_errors("reading a task"):
                raw = await self._client.hget(self.keys.tasks(partition), member[2:])
            return decode_task(cast(bytes, raw)).uscc if raw is not None else None
        return None
