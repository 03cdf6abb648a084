"""The ticker: its re-evaluation events (accepted from the ticker only, routed like any event),
and when it publishes one: only into a partition idle by the wall clock, read to its end, with
a change due, once per idle period."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from faust.exceptions import NotReady

from schemas.events import EventType
from schemas.exceptions import InvalidEventError
from streams.handler import Progress
from streams.planning import Record, validate_record
from streams.ticker import TICKER_SOURCE, Nudge, PartitionView, nudges, reevaluate_event, tick
from streams.topics import partition_for

USCC = "91610112MA6TGQ1K2M"
PARTITIONS = 4
DUE = 1_767_225_600  # 2026-01-01T00:00:00Z


def _record(value: bytes) -> Record:
    return Record(
        "riskmon.events", partition_for(USCC.encode(), PARTITIONS), 0, USCC.encode(), value
    )


def test_a_ticker_event_asks_for_the_enterprise_at_its_due_time() -> None:
    ev = validate_record(_record(reevaluate_event(USCC, DUE)), PARTITIONS, 65_536)
    assert (ev.type, ev.subject, ev.source) == (EventType.REEVALUATE, USCC, TICKER_SOURCE)
    assert ev.epoch_seconds == DUE


def test_the_same_time_gives_the_same_event_id() -> None:
    # A re-sent re-evaluation is a duplicate the ledger absorbs, not a second change.
    assert reevaluate_event(USCC, DUE) == reevaluate_event(USCC, DUE)
    assert reevaluate_event(USCC, DUE) != reevaluate_event(USCC, DUE + 1)


def test_no_one_else_may_ask_for_a_re_evaluation() -> None:
    forged = reevaluate_event(USCC, DUE).replace(TICKER_SOURCE.encode(), b"/someone/else")
    with pytest.raises(InvalidEventError) as err:
        validate_record(_record(forged), PARTITIONS, 65_536)
    assert err.value.reason == "unknown_type"


NOW = 1_800_000_000.75  # the wall clock
IDLE = 60.0


def view(
    partition: int = 0,
    *,
    quiet_for: float = 120.0,
    caught_up: bool = True,
    due: int | None = DUE,
    nudged_ago: float | None = None,
) -> PartitionView:
    return PartitionView(
        partition=partition,
        quiet_since=NOW - quiet_for,
        caught_up=caught_up,
        earliest=None if due is None else (USCC, due),
        nudged_at=None if nudged_ago is None else NOW - nudged_ago,
    )


def test_an_idle_read_partition_with_a_change_due_gets_one_record_at_the_clock() -> None:
    (n,) = nudges([view(3)], now=NOW, idle_seconds=IDLE)
    assert n == Nudge(partition=3, uscc=USCC, at=1_800_000_000)
    ev = validate_record(_record(n.value()), PARTITIONS, 65_536)
    assert (ev.id, ev.subject, ev.epoch_seconds) == (f"{USCC}@1800000000", USCC, 1_800_000_000)


@pytest.mark.parametrize(
    "v",
    [
        pytest.param(view(quiet_for=59.0), id="a record less than idle_seconds ago"),
        pytest.param(view(caught_up=False), id="records left to read"),
        pytest.param(view(due=None), id="nothing due at all"),
        pytest.param(view(due=1_800_000_001), id="due later than the clock"),
        pytest.param(view(nudged_ago=30.0), id="published into less than idle_seconds ago"),
    ],
)
def test_no_record_for_a_partition_that_is_not_idle_or_owes_nothing(v: PartitionView) -> None:
    assert nudges([v], now=NOW, idle_seconds=IDLE) == []


def test_idle_seconds_zero_means_never() -> None:
    assert nudges([view(quiet_for=1e9)], now=NOW, idle_seconds=0.0) == []


def test_one_idle_period_after_its_last_record_a_partition_may_get_another() -> None:
    assert len(nudges([view(nudged_ago=60.0)], now=NOW, idle_seconds=IDLE)) == 1


def test_each_partition_is_decided_alone() -> None:
    views = [view(0), view(1, caught_up=False), view(2, quiet_for=5.0), view(3)]
    assert [n.partition for n in nudges(views, now=NOW, idle_seconds=IDLE)] == [0, 3]


def test_a_change_within_the_allowed_lateness_waits_for_the_clock_to_pass_it() -> None:
    # The record's time raises the watermark to now; only what is due by now less the
    # lateness is made then, so a record sooner would make nothing.
    due = int(NOW) - 3_600
    assert nudges([view(due=due)], now=NOW, idle_seconds=IDLE, lateness=7_200) == []
    assert len(nudges([view(due=due)], now=NOW, idle_seconds=IDLE, lateness=3_600)) == 1


class FakeStore:
    def __init__(self, due: dict[int, list[tuple[str, int]]]) -> None:
        self._due = due
        self.looked_up: list[int] = []
        self.params = SimpleNamespace(lateness=0)

    async def class_counts(self) -> dict[str, int]:
        return {"A": 3}

    async def due(self, partition: int, until: int, limit: int) -> list[tuple[str, int]]:
        self.looked_up.append(partition)
        return [d for d in self._due.get(partition, []) if d[1] <= until][:limit]


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, int]] = []

    async def send(self, topic: str, key: bytes, value: bytes, partition: int, *_: object) -> None:
        self.sent.append((topic, key, value, partition))


class FakeSupervision:
    """Supervision's due index: partition -> (due, member); task ids -> their enterprise."""

    def __init__(self, due: dict[int, tuple[int, str]], tasks: dict[str, str]) -> None:
        self._due = due
        self._tasks = tasks

    async def earliest_due(self, partition: int, until: int) -> tuple[int, str] | None:
        entry = self._due.get(partition)
        return entry if entry is not None and entry[0] <= until else None

    async def uscc_of(self, partition: int, member: str) -> str | None:
        kind, _, rest = member.partition(":")
        return self._tasks.get(rest) if kind == "t" else rest.split("|")[0]


def _runtime(
    lag: dict[int, int | None],
    quiet_for: dict[int, float],
    supervision: FakeSupervision | None = None,
    due: dict[int, list[tuple[str, int]]] | None = None,
) -> Any:
    """What tick() reads of a worker's runtime: its partitions' lag and last records."""
    now = time.time()
    progress = Progress(last_record_at={p: now - s for p, s in quiet_for.items()})
    return SimpleNamespace(
        settings=SimpleNamespace(idle_seconds=IDLE, events_topic="riskmon.events"),
        handler=SimpleNamespace(progress=progress, started_at=now - 3_600),
        store=FakeStore({p: [(f"{USCC[:-1]}{p}", DUE)] for p in lag} if due is None else due),
        supervision=supervision,
        app=SimpleNamespace(producer=FakeProducer(), should_stop=False),
        class_snapshot={},
        assigned_at={},
        nudged_at={},
        progress=lambda: None,
        partition_lag=lambda: lag,
        audit=None,  # forwarding the audit log: tests/integration/test_audit_log.py
    )


def test_a_tick_publishes_into_the_quiet_partitions_only_and_once() -> None:
    rt = _runtime({0: 0, 1: 0, 2: 5, 3: None}, {0: 600.0, 1: 10.0, 2: 600.0, 3: 600.0})
    asyncio.run(tick(rt))
    ((topic, key, value, partition),) = rt.app.producer.sent
    assert (topic, key, partition) == ("riskmon.events", f"{USCC[:-1]}0".encode(), 0)
    assert orjson.loads(value)["type"] == "riskmon.reevaluate"
    assert rt.store.looked_up == [0]  # busy or unread partitions cost no Redis call
    assert rt.class_snapshot == {"A": 3}
    asyncio.run(tick(rt))
    assert len(rt.app.producer.sent) == 1  # not again within the idle period


class StoppedProducer(FakeProducer):
    async def send(self, topic: str, key: bytes, value: bytes, partition: int, *_: object) -> None:
        raise NotReady("Producer service not yet started")


def test_a_tick_while_the_worker_stops_sends_nothing_and_does_not_crash_it() -> None:
    # SIGTERM (a rollout) stops Faust's producer before its timers: a tick then must not
    # raise, or the worker exits 1 instead of 0
    rt = _runtime({0: 0}, {0: 600.0})
    rt.app.producer = StoppedProducer()
    asyncio.run(tick(rt))  # the nudge could not go out: skipped, sent by a later tick
    rt.app.producer = FakeProducer()
    rt.app.should_stop = True
    asyncio.run(tick(rt))
    assert rt.app.producer.sent == []
    rt.app.should_stop = False
    asyncio.run(tick(rt))
    assert len(rt.app.producer.sent) == 1


def test_an_idle_partition_with_only_supervision_due_is_nudged_for_its_enterprise() -> None:
    # No class change is due in partition 0, but a task of TASKED falls overdue: the record
    # is keyed by the task's enterprise (the partition it lives in); partition 1's earlier
    # observation expiry goes before its later class change.
    tasked, observed = f"{USCC[:-1]}7", f"{USCC[:-1]}8"
    sup = FakeSupervision(
        {0: (DUE, "t:task-1"), 1: (DUE - 10, f"obs:{observed}")}, {"task-1": tasked}
    )
    rt = _runtime({0: 0, 1: 0}, {0: 600.0, 1: 600.0}, sup, due={1: [(f"{USCC[:-1]}1", DUE)]})
    asyncio.run(tick(rt))
    sent = sorted((partition, key) for _, key, _, partition in rt.app.producer.sent)
    assert sent == [(0, tasked.encode()), (1, observed.encode())]


def test_a_class_change_due_first_keeps_the_nudge() -> None:
    sup = FakeSupervision({0: (DUE + 5, "rem:x|ref")}, {})
    rt = _runtime({0: 0}, {0: 600.0}, sup)
    asyncio.run(tick(rt))
    ((_, key, _, _),) = rt.app.producer.sent
    assert key == f"{USCC[:-1]}0".encode()
