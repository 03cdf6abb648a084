"""What supervision keeps per task and per observed enterprise, and its stored form (pure).

The stream (:mod:`supervision.step`) writes these, the API and the CLI read them: this module is
the one place their layout is defined. Stored as MessagePack arrays, field order as declared
(append new fields at the end; a reader fills missing trailing fields with their defaults).
Times are Unix seconds of *event* time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import msgpack

__all__ = [
    "OPEN_STATES",
    "ObservationRecord",
    "TaskRecord",
    "TaskState",
    "Transition",
    "decode_observation",
    "decode_task",
    "encode_observation",
    "encode_task",
]

TaskState = Literal["created", "assigned", "in_progress", "completed", "cancelled"]
#: States in which a task is still to be done (and may fall overdue).
OPEN_STATES: frozenset[str] = frozenset({"created", "assigned", "in_progress"})


@dataclass(slots=True)
class Transition:
    """One step in a task's history: to ``state`` at ``at`` by ``actor``. ``rejected``: the
    log asked for a step the state did not allow (two operators raced); kept, not applied."""

    state: str
    at: int
    actor: str
    note: str = ""
    #: The CloudEvents id of the event that asked for it ("" for the ticker's overdue mark).
    event_id: str = ""
    rejected: bool = False


@dataclass(slots=True)
class TaskRecord:
    task_id: str
    uscc: str
    trigger: str
    mode: str
    state: str
    #: The enterprise's class when the task was created (for a plan: when it was drawn).
    risk_class: str
    created_at: int
    #: When it falls overdue (0: never).
    due: int
    plan_id: str = ""
    inspectors: list[str] = field(default_factory=list)
    #: The inspection's result once completed (``inspection.completed``'s ``result``).
    result: str = ""
    overdue: bool = False
    history: list[Transition] = field(default_factory=list)
    #: The cause (CloudEvents source and id) of its creation.
    cause_source: str = ""
    cause_id: str = ""


@dataclass(slots=True)
class ObservationRecord:
    """A new-economy enterprise's observation period (观察期) and its triggers so far."""

    uscc: str
    since: int
    until: int
    active: bool
    ended_at: int = 0
    #: ``schemas.alerts.EndReason`` once ended, else "".
    ended_reason: str = ""
    #: Event times of the minor triggers counted in the current window.
    minor_triggers: list[int] = field(default_factory=list)
    #: Event times of complaints counted towards the complaint threshold.
    complaints: list[int] = field(default_factory=list)


def _pack(obj: Any) -> bytes:
    packed: bytes = msgpack.packb(dataclasses.astuple(obj), use_bin_type=True)
    return packed


def encode_task(task: TaskRecord) -> bytes:
    return _pack(task)


_HISTORY = [f.name for f in dataclasses.fields(TaskRecord)].index("history")


def decode_task(raw: bytes) -> TaskRecord:
    v = msgpack.unpackb(raw, raw=False)
    if len(v) > _HISTORY:
        v[_HISTORY] = [Transition(*h) for h in v[_HISTORY]]
    return TaskRecord(*v)


def encode_observation(obs: ObservationRecord) -> bytes:
    return _pack(obs)


def decode_observation(raw: bytes) -> ObservationRecord:
    return ObservationRecord(*msgpack.unpackb(raw, raw=False))
