"""Supervision's state read back for the API and the CLI: tasks, observation periods and the
discovery counts, with an async client. Reads only: the worker writes (``supervision/step.py``
through its store), and the API changes a task by publishing a command event, never here.

A task lives in its enterprise's partition, but a reader given only a task id does not know
it: it asks every partition's task hash at once (one pipeline of HGETs, one round trip).
Listing walks the task hashes with HSCAN, a page at a time, so it never blocks Redis; it is a
read of every task, fine for a district's thousands, and the place an index goes if ever needed.

Every method raises :class:`~scoring.exceptions.StoreUnavailableError` while Redis cannot
answer, or :class:`~scoring.exceptions.StoreError`, never redis-py's errors.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from scoring.store.errors import redis_errors
from scoring.store.keys import Keys
from scoring.store.wire import decode_state, text
from supervision.records import ObservationRecord, TaskRecord, decode_observation, decode_task
from supervision.store.keys import SupervisionKeys

__all__ = ["Cursor", "SupervisionReader", "TaskFilter", "TaskPage"]

#: Where a page of tasks ends: the (created_at, task_id) of its last task; the next page
#: starts after it.
Cursor = tuple[int, str]

#: Fields HSCAN asks for per call (a hint to Redis, not a limit).
_SCAN_COUNT = 1_000


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which tasks to list; None matches any. ``division`` is a GB/T 2260 code or a prefix of
    one (``6101`` matches ``610112``), matched against the division the enterprise registered
    (its scoring profile); an enterprise without a registration matches no division."""

    state: str | None = None
    trigger: str | None = None
    plan_id: str | None = None
    uscc: str | None = None
    division: str | None = None

    def admits(self, t: TaskRecord) -> bool:
        """Whether ``t`` passes every condition but the division (read apart)."""
        return (
            (self.state is None or t.state == self.state)
            and (self.trigger is None or t.trigger == self.trigger)
            and (self.plan_id is None or t.plan_id == self.plan_id)
            and (self.uscc is None or t.uscc == self.uscc)
        )


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of a listing, in (created_at, task_id) order. ``total``: tasks matching the
    filter in all pages; ``next_cursor``: pass it for the next page (None: this is the last)."""

    tasks: list[TaskRecord]
    total: int
    next_cursor: Cursor | None


class SupervisionReader:
    """Async reads of supervision's state under ``prefix`` over ``partitions`` partitions."""

    def __init__(self, client: aioredis.Redis, *, prefix: str, partitions: int) -> None:
        self._client = client
        self.keys = SupervisionKeys(prefix)
        self._scoring_keys = Keys(prefix)
        self.partitions = partitions

    async def task(self, task_id: str) -> TaskRecord | None:
        """The task ``task_id`` (None: no such task), looked up in every partition."""
        found = await self._find(self.keys.tasks, task_id)
        return None if found is None else decode_task(found[1])

    async def observation(
        self, uscc: str, partition: int | None = None
    ) -> ObservationRecord | None:
        """``uscc``'s observation period, ended or not (None: it never had one). With
        ``partition`` (the enterprise's), one HGET; else every partition is asked."""
        if partition is not None:
            with redis_errors("reading an observation period"):
                raw = await self._client.hget(self.keys.observations(partition), uscc)
            return None if raw is None else decode_observation(cast(bytes, raw))
        found = await self._find(self.keys.observations, uscc)
        return None if found is None else decode_observation(found[1])

    async def discovery_counts(self) -> dict[str, int]:
        """``sup:disc`` summed over partitions: ``<class at draw>|<result>`` -> completed
        random-plan inspections (``supervision.discovery.parse_counts`` splits the names)."""
        with redis_errors("reading the discovery counts"):
            async with self._client.pipeline(transaction=False) as pipe:
                for p in range(self.partitions):
                    pipe.hgetall(self.keys.discovery(p))
                pages: list[dict[bytes, bytes]] = await pipe.execute()
        totals: dict[str, int] = {}
        for page in pages:
            for name, n in page.items():
                totals[text(name)] = totals.get(text(name), 0) + int(n)
        return totals

    async def tasks(
        self, where: TaskFilter, *, limit: int, after: Cursor | None = None
    ) -> TaskPage:
        """Up to ``limit`` tasks matching ``where`` after ``after``, oldest first (by
        created_at, then task id: a stable order, so paging neither skips nor repeats a task
        that exists throughout)."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, not {limit}")
        matching: list[tuple[int, TaskRecord]] = []
        with redis_errors("listing tasks"):
            for p in range(self.partitions):
                async for _, raw in self._client.hscan_iter(self.keys.tasks(p), count=_SCAN_COUNT):
                    t = decode_task(raw)
                    if where.admits(t):
                        matching.append((p, t))
            if where.division is not None:
                matching = await self._in_division(matching, where.division)
        tasks = sorted((t for _, t in matching), key=_order)
        start = 0 if after is None else bisect.bisect_right(tasks, after, key=_order)
        page = tasks[start : start + limit]
        more = start + limit < len(tasks)
        return TaskPage(page, len(tasks), _order(page[-1]) if more and page else None)

    async def _in_division(
        self, found: Sequence[tuple[int, TaskRecord]], division: str
    ) -> list[tuple[int, TaskRecord]]:
        # The registered division of each distinct enterprise, from its scoring state (in the
        # same partition as its tasks), in one round trip.
        usccs = sorted({(p, t.uscc) for p, t in found})
        async with self._client.pipeline(transaction=False) as pipe:
            for p, uscc in usccs:
                pipe.hget(self._scoring_keys.states(p, uscc), uscc)
            raws: list[bytes | None] = await pipe.execute()
        inside = set()
        for (p, uscc), raw in zip(usccs, raws, strict=True):
            state = decode_state(raw)
            profile = None if state is None else state.profile
            if profile is not None and profile.division.startswith(division):
                inside.add((p, uscc))
        return [(p, t) for p, t in found if (p, t.uscc) in inside]

    async def _find(self, key_of: Callable[[int], str], field: str) -> tuple[int, bytes] | None:
        # (partition, value) of ``field`` in the first partition's hash that has it.
        with redis_errors("looking up " + field[:64]):
            async with self._client.pipeline(transaction=False) as pipe:
                for p in range(self.partitions):
                    pipe.hget(key_of(p), field)
                raws: list[bytes | None] = await pipe.execute()
        for p, raw in enumerate(raws):
            if raw is not None:
                return p, raw
        return None


def _order(t: TaskRecord) -> Cursor:
    return (t.created_at, t.task_id)
