"""The worker's and the jobs' async access to enterprise state in Redis.

Every write goes through apply.lua (exactly once per event); reads are single commands or one
pipeline. Every method raises StoreUnavailableError (retry) or StoreError, never redis-py's
errors (:mod:`scoring.store.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from schemas.classes import CLASSES
from scoring.exceptions import StoreError
from scoring.fold import EnterpriseState, Params
from scoring.store.errors import redis_errors
from scoring.store.keys import STATE_BUCKETS, Keys
from scoring.store.plan import ApplyRequest, Call, plan_calls, reclassify_call, top_offsets
from scoring.store.replies import (
    ReclassifyPage,
    ReclassifyResult,
    Reply,
    StoreResult,
    outbox_entry,
    reply_head,
    store_result,
)
from scoring.store.script import APPLY, SCRIPT, Script
from scoring.store.wire import decode_state, params_arg, text, version_id, version_names

__all__ = ["Store"]


class Store:
    """Async access to enterprise state. Every write goes through apply.lua (exactly once)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        params: Params,
        partitions: int,
        ledger_window: int = 0,
        script: str = SCRIPT,
    ) -> None:
        """``script``: apply.lua as shipped; a benchmark passes variants of it."""
        self._client = client
        self.keys = Keys(prefix)
        self.params = params
        self.params_arg = params_arg(params, ledger_window)
        self.partitions = partitions
        self._script = APPLY if script == SCRIPT else Script.of(script)
        self._names = {version_id(params.version): params.version}
        self._named = False
        # The fence (apply.lua's ARGV[6]): meta key -> the highest offset Redis acknowledged
        # applying there. Watermarks never go down, so a lower one means lost writes.
        self._fences: dict[str, int] = {}

    async def _name_version(self) -> None:
        # Before the first state is written under this version: states store only its id,
        # and an id another version already holds would make the two indistinguishable.
        key, vid, name = (
            self.keys.models(),
            str(version_id(self.params.version)),
            self.params.version,
        )
        with redis_errors("the model registry"):
            await self._client.hsetnx(key, vid, name)
            held = await self._client.hget(key, vid)
        if held is not None and text(held) != name:
            raise StoreError(
                f"model version {name!r} has the id of version {held!r} in {key}; "
                "rename the model version"
            )
        self._named = True

    async def _calls(self, calls: Sequence[Call]) -> list[Any]:
        """Run apply.lua once per (keys, args), in one round trip."""
        if not self._named:
            await self._name_version()
        return await self._script.run(self._client, calls)

    async def apply_batch(self, requests: Sequence[ApplyRequest]) -> list[StoreResult]:
        """Apply changes in log order per partition, in one round trip; duplicates change
        nothing. Results are in the order of ``requests``.

        Raises StoreUnavailableError (retry the whole batch: it is idempotent) or StoreError.
        """
        if not requests:
            return []
        calls, order = plan_calls(self.keys, self.params_arg, requests)
        out: list[StoreResult | None] = [None] * len(requests)
        for i, result in zip(order, await self.execute(calls), strict=True):
            out[i] = result
        return cast(list[StoreResult], out)

    async def execute(self, calls: Sequence[Call]) -> list[StoreResult]:
        """Run calls from :func:`~scoring.store.plan.plan_calls`; one result per event, in
        call order, with the time-driven class changes the event fired (a duplicate: its first
        copy's)."""
        return [store_result(raw) for raw in await self.execute_replies(calls)]

    async def execute_replies(self, calls: Sequence[Call]) -> list[Reply]:
        """:meth:`execute` with each event's reply as apply.lua gave it (``status|...``, or
        an array of that and the changes it fired), unparsed."""
        if not calls:
            return []
        fenced = [self._fenced(keys, args) for keys, args in calls]
        replies = await self._calls(fenced)
        for meta, top in top_offsets(calls).items():  # all acknowledged: raise the fences
            if top > self._fences.get(meta, -1):
                self._fences[meta] = top
        return [raw for reply in replies for raw in reply]

    def fence(self, partition: int) -> int:
        """The highest offset of ``partition`` Redis acknowledged applying to this store (-1:
        none): a write that depends on those events (supervision's) checks the watermark
        against it in its own transaction, so it never lands on a Redis that lost them."""
        return self._fences.get(self.keys.meta(partition), -1)

    def _fenced(self, keys: list[str], args: list[str | bytes]) -> Call:
        """An apply call from ``plan_calls`` with its fence: Redis refuses it (LOSTWRITES, a
        StoreError) if the partition's watermark is below what Redis acknowledged before."""
        if len(args) >= 5 and args[1] == "apply":
            return keys, [*args[:5], str(self._fences.get(keys[1], -1))]
        return keys, args

    async def execute_raw(self, calls: Sequence[Call]) -> list[bytes]:
        """:meth:`execute` with only each event's ``status|outcome`` as apply.lua gave it,
        for a caller that only counts them."""
        return [reply_head(raw) for raw in await self.execute_replies(calls)]

    def state_hashes(self) -> list[tuple[int, int]]:
        """(partition, bucket) of every hash that can hold an enterprise's state."""
        return [(p, b) for p in range(self.partitions) for b in range(STATE_BUCKETS)]

    async def reclassify(
        self, hashes: Sequence[tuple[int, int]], *, force: bool = False, outbox: bool = False
    ) -> ReclassifyPage:
        """Re-evaluate every enterprise in the state ``hashes`` (from :meth:`state_hashes`)
        under this store's parameters, each at its own asof, skipping those already evaluated
        under this model version unless ``force``. Redis walks each hash itself (HSCAN in
        apply.lua, up to MAX_CALL_EVENTS enterprises a call; the calls of all hashes in one
        round trip) and answers only with counts and the class changes, so neither keys nor
        states travel to Python. Idempotent.

        With ``outbox``, each class change is also kept in its partition's outbox, written
        with the state, until :meth:`clear_outbox` (once its alert is acked); what a crash
        left there, :meth:`outbox` returns.

        It neither reads nor moves a partition's event-time watermark: a time-driven change
        it now schedules at or before the watermark (less the lateness) is made, as of its
        due moment, by the partition's next applied event (``scoring/partition.py``)."""
        page = ReclassifyPage()
        todo = [(p, b, "0") for p, b in hashes]
        while todo:
            calls = [
                reclassify_call(
                    self.keys, self.params_arg, p, b, cursor, force=force, outbox=outbox
                )
                for p, b, cursor in todo
            ]
            more = []
            for (p, b, _), reply in zip(todo, await self._calls(calls), strict=True):
                cursor = page.add(p, reply, self.params.version)
                if cursor is not None:
                    more.append((p, b, cursor))
            todo = more
        return page

    async def outbox(self) -> list[ReclassifyResult]:
        """The class changes of reclassify runs whose alerts were not acked (a run cut short
        after its Redis write), each with the model version it was made under."""
        with redis_errors("reading the outbox"):
            pipe = self._client.pipeline(transaction=False)
            for p in range(self.partitions):
                pipe.hgetall(self.keys.outbox(p))
            pages: list[dict[bytes, bytes]] = await pipe.execute()
            if any(pages):
                await self._read_names()
        return [
            outbox_entry(p, uscc, value, self._names)
            for p, page in enumerate(pages)
            for uscc, value in sorted(page.items())
        ]

    async def clear_outbox(self, results: Iterable[ReclassifyResult]) -> None:
        """Forget ``results`` in the outbox (their alerts are acked), in one round trip."""
        by_partition: dict[int, list[str]] = {}
        for r in results:
            by_partition.setdefault(r.partition, []).append(r.uscc)
        if not by_partition:
            return
        with redis_errors("clearing the outbox"):
            pipe = self._client.pipeline(transaction=False)
            for p, usccs in by_partition.items():
                pipe.hdel(self.keys.outbox(p), *usccs)
            await pipe.execute()

    async def _read_names(self) -> None:
        # The names of the model versions that wrote states here (states keep only an id).
        self._names.update(version_names(await self._client.hgetall(self.keys.models())))

    async def get(self, partition: int, uscc: str) -> EnterpriseState | None:
        """``uscc``'s state (None: never seen), named by the model version that wrote it."""
        with redis_errors("reading a state"):
            raw = await self._client.hget(self.keys.states(partition, uscc), uscc)
            state = decode_state(cast("bytes | None", raw), self._names)
            if state is not None and state.version.startswith("#"):
                # Written under another model: its name is in the registry.
                await self._read_names()
                state = decode_state(cast(bytes, raw), self._names)
        return state

    async def class_counts(self) -> dict[str, int]:
        """Enterprises per class, summed over partitions (maintained by apply.lua)."""
        totals: dict[str, int] = dict.fromkeys(CLASSES, 0)
        with redis_errors("reading class counts"):
            async with self._client.pipeline(transaction=False) as pipe:
                for p in range(self.partitions):
                    pipe.hmget(self.keys.meta(p), *totals)
                rows = await pipe.execute()
        for row in rows:
            for name, v in zip(totals, row, strict=True):
                totals[name] += int(v or 0)
        return totals

    async def watermark(self, partition: int) -> int:
        """Highest Kafka offset of ``partition`` applied to Redis; -1 if none."""
        with redis_errors("reading the watermark"):
            v = await self._client.hget(self.keys.meta(partition), "wm")
        return int(v) if v is not None else -1

    async def event_watermark(self, partition: int) -> int:
        """The event-time watermark of ``partition`` (Unix s): the latest event time among the
        events applied from it (``scoring/partition.py``); 0 if none."""
        with redis_errors("reading the event-time watermark"):
            v = await self._client.hget(self.keys.meta(partition), "ew")
        return int(v) if v is not None else 0

    async def due(self, partition: int, until: int, limit: int) -> list[tuple[str, int]]:
        """Enterprises of ``partition`` whose time-driven change is due at or before ``until``."""
        with redis_errors("reading the due index"):
            rows = await self._client.zrangebyscore(
                self.keys.due(partition), "-inf", until, start=0, num=limit, withscores=True
            )
        pairs = cast("list[tuple[bytes, float]]", rows)
        return [(m.decode(), int(s)) for m, s in pairs]
