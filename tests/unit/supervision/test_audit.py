"""The class changes supervision records in the audit chain: of the inputs applied now only,
once each, the event's own and then those it brought about by time."""

from __future__ import annotations

import dataclasses

from pydantic import BaseModel

from scoring.fold import Outcome
from scoring.partition import Fired
from supervision.audit import entries
from supervision.records import TaskRecord, Transition
from supervision.step import Effects, Input


class _Data(BaseModel):
    pass


USCC = "91610112MA6TGQ1K2M"
OTHER = "91610112MA6TGQ1K3K"


def _input(ehash: str, old: int, new: int, fired: tuple[Fired, ...] = ()) -> Input:
    return Input(
        ehash=ehash,
        etype="penalty.imposed",
        uscc=USCC,
        source="/sjjc",
        event_id=f"e-{ehash}",
        time=1_780_000_000,
        data=_Data(),
        outcome=Outcome(old, new, 0, 1_780_000_000, 0),
        fired=fired,
    )


def test_only_inputs_applied_now_and_only_real_changes_are_recorded() -> None:
    faded = Fired(OTHER, Outcome(3, 2, 0, 1_779_999_000, 0))
    inputs = [
        _input("a", 1, 2),  # A -> B
        _input("b", 2, 2),  # no change
        _input("c", 0, 1),  # a new enterprise in A: none
        _input("d", 2, 4),  # already applied by supervision (a redelivery): not again
        _input("e", 0, 3, (faded,)),  # new in C, and another's C -> B by time
        _input("a", 1, 2),  # the same event twice in one batch: once
    ]
    seen = {"a": [], "b": [], "c": [], "e": []}
    listed = entries(inputs, Effects(ew=0, seen=seen), {}, "default-2026.1")
    assert [(e.target, e.details["from"], e.details["to"]) for e in listed] == [
        (USCC, "A", "B"),
        (USCC, None, "C"),
        (OTHER, "C", "B"),
    ]
    assert listed[0].details == {
        "from": "A",
        "to": "B",
        "source": "/sjjc",
        "id": "e-a",
        "type": "penalty.imposed",
        "model": "default-2026.1",
    }
    assert listed[2].details["cause"] == "time"
    assert listed[2].time == "2026-05-28T20:10:00+00:00"  # its due moment, not the event's
    assert listed[0].time == "2026-05-28T20:26:40+00:00"


def _task(tid: str, uscc: str, steps: list[Transition]) -> TaskRecord:
    return TaskRecord(tid, uscc, "class_d", "on_site", steps[-1].state, "D", 0, 0, history=steps)


def test_task_steps_follow_the_input_that_asked_for_them() -> None:
    created = Transition("created", 1_780_000_000, "riskmon", "", "e-d")
    assigned = Transition("assigned", 1_780_000_100, "token:wang.li", "", "e-x")
    overdue = Transition("overdue", 1_780_000_200, "riskmon")  # no event asked: not recorded
    timed = Transition("created", 1_779_999_000, "riskmon", "", f"{OTHER}@1779999000")
    before = {"t-old": _task("t-old", USCC, [created])}
    after = {
        "t-old": _task("t-old", USCC, [created, assigned, overdue]),
        "t-new": _task("t-new", USCC, [created]),
        "t-timed": _task("t-timed", OTHER, [timed]),
    }
    slipped = Fired(OTHER, Outcome(3, 4, 0, 1_779_999_000, 0))
    inputs = [
        _input("d", 2, 4),  # into D: its task created
        dataclasses.replace(_input("x", 4, 4), event_id="e-x"),  # the assignment
        _input("y", 4, 4, (slipped,)),  # another firm's D by time: its task
    ]
    inputs[0] = dataclasses.replace(inputs[0], event_id="e-d")
    effects = Effects(ew=0, seen={"d": [], "x": [], "y": []}, tasks=after)
    listed = entries(inputs, effects, before, "m")
    assert [(e.action, e.target, e.actor) for e in listed] == [
        ("class.change", USCC, "riskmon"),
        ("task.created", "t-new", "riskmon"),
        ("task.assigned", "t-old", "token:wang.li"),
        ("class.change", OTHER, "riskmon"),
        ("task.created", "t-timed", "riskmon"),
    ]
