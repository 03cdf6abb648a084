"""Supervision state written straight into Redis, as the worker's store would leave it, for
tests of what reads it (the API, the CLI). Plain functions, not fixtures."""

from __future__ import annotations

import random

import redis

from schemas.uscc import make_uscc
from scoring.changes import Profile
from scoring.fold import EnterpriseState
from scoring.store.keys import Keys
from scoring.store.wire import encode_state
from streams.topics import partition_for
from supervision.records import (
    ObservationRecord,
    TaskRecord,
    Transition,
    encode_observation,
    encode_task,
)
from supervision.store.keys import SupervisionKeys

#: 2026-03-01T00:00:00Z, a base for event times.
T0 = 1_772_323_200
DAY = 86_400


def usccs(n: int, division: str = "610112", seed: int = 7) -> list[str]:
    """``n`` distinct valid USCCs registered in ``division``."""
    rng = random.Random(f"{seed}-{division}")
    out: list[str] = []
    while len(out) < n:
        code = make_uscc(rng, division)
        if code not in out:
            out.append(code)
    return out


def task(
    task_id: str,
    uscc: str,
    *,
    state: str = "created",
    trigger: str = "class_d",
    created_at: int = T0,
    plan_id: str = "",
    risk_class: str = "D",
    inspectors: list[str] | None = None,
    result: str = "",
    history: list[Transition] | None = None,
) -> TaskRecord:
    """A task record; its history starts with its creation unless given."""
    return TaskRecord(
        task_id=task_id,
        uscc=uscc,
        trigger=trigger,
        mode="on_site",
        state=state,
        risk_class=risk_class,
        created_at=created_at,
        due=created_at + 30 * DAY,
        plan_id=plan_id,
        inspectors=inspectors or [],
        result=result,
        history=history if history is not None else [Transition("created", created_at, "riskmon")],
        cause_source="/test",
        cause_id=f"cause-{task_id}",
    )


def partition_of(uscc: str, partitions: int) -> int:
    return partition_for(uscc.encode(), partitions)


def put_task(client: redis.Redis, prefix: str, partitions: int, t: TaskRecord) -> None:
    """Store ``t`` in its enterprise's partition."""
    p = partition_of(t.uscc, partitions)
    client.hset(SupervisionKeys(prefix).tasks(p), t.task_id, encode_task(t))


def put_observation(
    client: redis.Redis, prefix: str, partitions: int, obs: ObservationRecord
) -> None:
    p = partition_of(obs.uscc, partitions)
    client.hset(SupervisionKeys(prefix).observations(p), obs.uscc, encode_observation(obs))


def register(
    client: redis.Redis, prefix: str, partitions: int, uscc: str, division: str, klass: int = 4
) -> None:
    """A scoring state for ``uscc`` registered in ``division`` (what division filters read)."""
    state = EnterpriseState(
        asof=T0,
        klass=klass,
        profile=Profile(division, "H6210", False, "enterprise", T0, 0),
        version="default-2026.1",
    )
    p = partition_of(uscc, partitions)
    client.hset(Keys(prefix).states(p, uscc), uscc, encode_state(state))
