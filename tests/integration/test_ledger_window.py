"""The ledger window (``RISKMON_LEDGER_WINDOW``) on a real redis-server: the ledger forgets old
events, and what it forgets costs nothing but a duplicate counted as applied."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis

from alerts.rules import derive, time_cause
from schemas.alerts import Cause
from schemas.codec import decode_event
from scoring.changes import change_for
from scoring.fold import EnterpriseState, Params
from scoring.model import load_model
from scoring.store import ApplyRequest, Keys, Store, iter_states
from streams.redis_client import connect, connect_async
from streams.topics import partition_for
from tests.support.eventlog import seeded_log

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MODEL = load_model()
PARTITIONS = 4
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
WINDOW = 16


@dataclass
class Run:
    states: dict[str, EnterpriseState] = field(default_factory=dict)
    message_ids: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)
    ledger_entries: dict[str, int] = field(default_factory=dict)
    fired: int = 0


def _store(client: aioredis.Redis, prefix: str, window: int) -> Store:
    return Store(
        client, prefix=prefix, params=Params.of(MODEL), partitions=PARTITIONS, ledger_window=window
    )


async def _run(redis_url: str, prefix: str, window: int) -> Run:
    """A log with many re-published duplicates, in batches of 25, as the worker would."""
    log = seeded_log(11, enterprises=30, events=900, duplicate_ratio=0.3, poison=False, now=NOW)
    offsets: dict[int, int] = defaultdict(int)
    requests, events = [], []
    for rec in log:
        ev = decode_event(rec.value)
        p = partition_for(ev.subject.encode(), PARTITIONS)
        requests.append(ApplyRequest(ev.subject, p, offsets[p], change_for(ev, MODEL)))
        events.append(ev)
        offsets[p] += 1
    client = connect_async(redis_url)
    out = Run()
    try:
        store = _store(client, prefix, window)
        for lo in range(0, len(requests), 25):
            results = await store.apply_batch(requests[lo : lo + 25])
            for ev, res in zip(events[lo : lo + 25], results, strict=True):
                out.statuses[res.status] += 1
                cause = Cause(source=ev.source, id=ev.id, type=str(ev.type))
                out.message_ids |= {
                    m.id for m in derive(ev.subject, cause, res.outcome, MODEL.version)
                }
                out.fired += 0 if res.duplicate else len(res.fired)
                for f in res.fired:  # the time-driven changes the event made (or its first copy)
                    when = time_cause(f.uscc, f.outcome.asof)
                    out.message_ids |= {
                        m.id for m in derive(f.uscc, when, f.outcome, MODEL.version)
                    }
    finally:
        await client.aclose()
    r = connect(redis_url)
    try:
        out.states = {u: s for _, u, s in iter_states(r, Keys(prefix), PARTITIONS)}
        for key in r.scan_iter(match=f"{prefix}:l:*"):
            out.ledger_entries[key.decode()] = int(r.hlen(key))
    finally:
        r.close()
    return out


async def test_a_forgetful_ledger_gives_the_states_and_messages_of_a_full_one(
    redis_url: str, key_prefix: str
) -> None:
    full = await _run(redis_url, f"{key_prefix}:full", window=0)
    small = await _run(redis_url, f"{key_prefix}:small", window=WINDOW)

    assert small.states == full.states
    assert small.message_ids == full.message_ids
    # The same time-driven changes, each made once: a forgotten duplicate, applied again, fires
    # nothing (what was due is made already).
    assert small.fired == full.fired > 0
    # The window did forget: duplicates whose first copy fell out of it were applied again.
    assert full.statuses["republished"] > small.statuses["republished"]
    assert small.statuses["applied"] > full.statuses["applied"]
    # Each partition keeps the buckets of its newest offset and the one before, no more.
    assert len(full.ledger_entries) == PARTITIONS
    by_partition: dict[str, list[int]] = defaultdict(list)
    for key, n in small.ledger_entries.items():
        base, bucket = key.rsplit(":", 1)
        by_partition[base].append(int(bucket))
        assert n <= WINDOW
    for buckets in by_partition.values():
        assert sorted(buckets) in ([0], [max(buckets) - 1, max(buckets)])
    assert sum(small.ledger_entries.values()) < sum(full.ledger_entries.values()) / 4


async def test_a_duplicate_inside_the_window_is_still_one(redis_url: str, key_prefix: str) -> None:
    log = seeded_log(12, enterprises=5, events=60, duplicate_ratio=0, poison=False, now=NOW)
    ev = decode_event(log[-1].value)
    p = partition_for(ev.subject.encode(), PARTITIONS)
    client = connect_async(redis_url)
    try:
        store = _store(client, key_prefix, WINDOW)
        ch = change_for(ev, MODEL)
        first = (await store.apply_batch([ApplyRequest(ev.subject, p, 100, ch)]))[0]
        again = await store.apply_batch(
            [
                ApplyRequest(ev.subject, p, 100, ch),  # redelivered
                ApplyRequest(ev.subject, p, 100 + WINDOW, ch),  # re-published, in reach
            ]
        )
        assert [r.status for r in again] == ["redelivered", "republished"]
        late = (await store.apply_batch([ApplyRequest(ev.subject, p, 100 + 3 * WINDOW, ch)]))[0]
        assert late.status == "applied"  # forgotten: applied again...
        assert late.outcome.new_class == first.outcome.new_class  # ...to the same class
    finally:
        await client.aclose()
