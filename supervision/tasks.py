"""The task lifecycle (pure): which step each state allows, and applying one to a task.

::

    created ──assign──▶ assigned ──start──▶ in_progress ──complete──▶ completed
       │  └──────start────────────────────▶    │
       └──────────── cancel (from any open state) ──────────────────▶ cancelled

``assign`` is also allowed on an assigned task (re-assignment to other inspectors), and
``complete`` from every open state: an inspection's result is a fact that arrives on its own
(``inspection.completed``), whether or not anyone recorded the assignment or the start first.
Completed and cancelled tasks are final: every action on them is refused. ``overdue`` is not a
state but a flag on an open task past its due moment (see :mod:`supervision.step`).

The API answers 409 for a step :func:`can` refuses; the stream keeps a refused step in the
task's history with ``rejected=True`` (two operators raced) and changes nothing else.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from supervision.records import OPEN_STATES, TaskRecord, Transition

__all__ = ["ACTIONS", "TARGET", "TRANSITIONS", "Action", "apply", "can", "is_open"]

Action = Literal["assign", "start", "cancel", "complete"]
ACTIONS: Final[tuple[str, ...]] = get_args(Action)

#: The state each action leads to.
TARGET: Final[dict[str, str]] = {
    "assign": "assigned",
    "start": "in_progress",
    "cancel": "cancelled",
    "complete": "completed",
}

#: state -> the actions it allows.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "created": frozenset({"assign", "start", "cancel", "complete"}),
    "assigned": frozenset({"assign", "start", "cancel", "complete"}),
    "in_progress": frozenset({"cancel", "complete"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}


def can(state: str, action: str) -> bool:
    """True if a task in ``state`` allows ``action`` (an unknown state or action: False)."""
    return action in TRANSITIONS.get(state, frozenset())


def is_open(task: TaskRecord) -> bool:
    """True while the task is still to be done (and may fall overdue)."""
    return task.state in OPEN_STATES


def apply(
    task: TaskRecord, action: str, at: int, actor: str, note: str = "", event_id: str = ""
) -> bool:
    """Record ``action`` on ``task`` (in place) at event time ``at`` (Unix s) by ``actor``.

    Allowed: the state moves and the step joins the history; returns True. Refused: the step
    joins the history with ``rejected=True`` and the state stays; returns False."""
    ok = can(task.state, action)
    target = TARGET.get(action, action)
    task.history.append(Transition(target, at, actor, note, event_id, rejected=not ok))
    if ok:
        task.state = target
    return ok
