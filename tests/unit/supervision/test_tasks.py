"""The task lifecycle: which step each state allows (the API's 409s), and a refused step kept
in the history without changing the task."""

from __future__ import annotations

import pytest

from supervision.records import TaskRecord
from supervision.tasks import ACTIONS, TRANSITIONS, apply, can, is_open

ALLOWED = {
    ("created", "assign"), ("created", "start"), ("created", "cancel"), ("created", "complete"),
    ("assigned", "assign"), ("assigned", "start"), ("assigned", "cancel"),
    ("assigned", "complete"),
    ("in_progress", "cancel"), ("in_progress", "complete"),
}  # fmt: skip


@pytest.mark.parametrize("state", sorted(TRANSITIONS))
@pytest.mark.parametrize("action", ACTIONS)
def test_the_table(state: str, action: str) -> None:
    assert can(state, action) is ((state, action) in ALLOWED)


def test_unknown_states_and_actions_allow_nothing() -> None:
    assert not can("overdue", "assign")
    assert not can("created", "reopen")


def task(state: str = "created") -> TaskRecord:
    return TaskRecord("t-1", "91610112MA6TGQ1K2M", "class_d", "on_site", state, "D", 100, 200)


def test_an_allowed_step_moves_the_state_and_records_who_and_when() -> None:
    t = task()
    assert apply(t, "assign", 150, "王科长", "片区一组", "ev-1")
    assert t.state == "assigned"
    (h,) = t.history
    assert (h.state, h.at, h.actor, h.note, h.event_id, h.rejected) == (
        "assigned", 150, "王科长", "片区一组", "ev-1", False,
    )  # fmt: skip


@pytest.mark.parametrize("final", ["completed", "cancelled"])
@pytest.mark.parametrize("action", ACTIONS)
def test_a_final_task_refuses_every_step_and_keeps_it(final: str, action: str) -> None:
    t = task(final)
    assert not apply(t, action, 150, "李四")
    assert t.state == final
    assert [(h.rejected, h.actor) for h in t.history] == [(True, "李四")]
    assert not is_open(t)


def test_open_states() -> None:
    assert [s for s in TRANSITIONS if is_open(task(s))] == ["created", "assigned", "in_progress"]
