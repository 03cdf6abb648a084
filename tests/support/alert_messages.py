"""Messages as riskmon publishes them on its alerts topic (CloudEvent JSON bytes), for the
delivery tests: early warnings, class changes, regional and industry warnings."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from alerts.rules import SOURCE, derived_id
from schemas.alerts import (
    AreaCounts,
    AreaWarning,
    Cause,
    ClassChanged,
    Evidence,
    OutgoingEnvelope,
    Severity,
    WarningRaised,
    Window,
)
from schemas.codec import dumps

__all__ = [
    "T0",
    "area_warning",
    "class_changed",
    "envelope_bytes",
    "eventually",
    "publish",
    "warning",
]

R = TypeVar("R")

T0 = dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.UTC)


def envelope_bytes(mid: str, etype: str, subject: str, time: dt.datetime, data: Any) -> bytes:
    env = OutgoingEnvelope(
        id=mid,
        source=SOURCE,
        type=etype,  # type: ignore[arg-type]
        subject=subject,
        time=time,
        data=data,
    )
    return dumps(env.model_dump(mode="json"))


def warning(
    uscc: str,
    *,
    severity: Severity = "critical",
    rule: str = "complaint-surge",
    n: int = 0,
    division: str | None = "610112",
    industry: str | None = "F51",
    time: dt.datetime = T0,
) -> tuple[str, bytes]:
    """(id, bytes) of a ``riskmon.alert.warning``; ``n`` makes distinct ones."""
    mid = derived_id("test-warning", uscc, rule, str(n))
    ev = Evidence(source="/test", id=f"ev-{n}", type="complaint.received", time=time)
    data = WarningRaised(
        rule=rule,
        rule_kind="complaint_surge",
        severity=severity,
        uscc=uscc,
        evidence=[ev],
        window=Window(start=time - dt.timedelta(days=30), end=time),
        asof=time,
        warnings_version="test-1",
        measures={"count": 5.0},
        division=division,
        industry=industry,
    )
    return mid, envelope_bytes(mid, "riskmon.alert.warning", uscc, time, data)


def class_changed(
    uscc: str, *, new: str = "D", old: str | None = "C", n: int = 0, time: dt.datetime = T0
) -> tuple[str, bytes]:
    """(id, bytes) of a ``riskmon.alert.class_changed``."""
    mid = derived_id("test-class", uscc, str(n))
    data = ClassChanged(
        uscc=uscc,
        old_class=old,  # type: ignore[arg-type]
        new_class=new,  # type: ignore[arg-type]
        score=81.5,
        asof=time,
        model_version="test-model",
        cause=Cause(source="/test", id=f"cause-{n}", type="penalty.imposed"),
        reasons=[],
    )
    return mid, envelope_bytes(mid, "riskmon.alert.class_changed", uscc, time, data)


def area_warning(
    kind: str = "division",
    code: str = "610112",
    *,
    severity: Severity = "warning",
    n: int = 0,
    time: dt.datetime = T0,
) -> tuple[str, bytes]:
    """(id, bytes) of a ``riskmon.alert.region`` (kind division) or ``.industry``."""
    mid = derived_id("test-area", kind, code, str(n))
    etype = "riskmon.alert.region" if kind == "division" else "riskmon.alert.industry"
    data = AreaWarning(
        rule="cd-share",
        rule_kind="cd_share",
        severity=severity,
        kind=kind,  # type: ignore[arg-type]
        code=code,
        window=Window(start=time - dt.timedelta(days=7), end=time),
        counts=AreaCounts(
            enterprises=120,
            by_class={"A": 60, "B": 20, "C": 25, "D": 15},
            cd_share=1 / 3,
            d_entries_7d=6,
        ),
        baseline={"district_cd_share": 0.12},
        statistic={"share_excess_points": 21.3},
        warnings_version="test-1",
    )
    return mid, envelope_bytes(mid, etype, f"{kind}:{code}", time, data)


async def publish(bootstrap: str, topic: str, messages: Sequence[tuple[str, bytes]]) -> None:
    """Publish ``messages`` ((id, bytes) as the builders above return) to ``topic``, keyed by
    their id, and wait for the broker's acks."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for mid, body in messages:
            await producer.send_and_wait(topic, body, key=mid.encode())
    finally:
        await producer.stop()


async def eventually(
    probe: Callable[[], Awaitable[R]],
    done: Callable[[R], bool],
    timeout: float = 60,
    what: str = "",
) -> R:
    """``probe()`` again every 0.2 s until ``done`` of its result; raises TimeoutError with the
    last result."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = await probe()
        if done(got):
            return got
        if loop.time() > deadline:
            raise TimeoutError(f"{what or 'condition'} not met; last: {got!r}")
        await asyncio.sleep(0.2)
