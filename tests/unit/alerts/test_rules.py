"""Alert and task rules: which class changes are news, which warrant an on-site task, and ids that
let a consumer drop the duplicates of a redelivered cause."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from alerts.rules import SOURCE, Message, derive, event_messages, may_warrant, time_cause
from schemas.alerts import Cause, ClassChanged, OutgoingEnvelope, TaskCreated
from scoring.fold import Outcome
from scoring.partition import Fired

USCC = "91610112MA6TGQ1K2M"
OTHER_USCC = "91110108551385082Q"
VERSION = "default-2026.1"
ASOF = dt.datetime(2026, 5, 6, 1, 30, tzinfo=dt.UTC)
T = int(ASOF.timestamp())
A, B, C, D = 1, 2, 3, 4
M = 1_000_000  # micro-points per point

PENALTY = Cause(source="/gsxt/610112", id="story-008", type="penalty.imposed")
COMPLAINT = Cause(source="/12315", id="story-013", type="complaint.received")
LISTING = Cause(source="/gsxt/610112", id="story-011", type="serious_violation.added")
TICK = Cause(source="/riskmon/ticker", id="tick-1", type="riskmon.reevaluate")

REASONS = (
    ("abn:异-42", 15 * M, C),  # an abnormal listing sets class C at least
    ("pen:罚-117", 18 * M, 0),
    ("cmp:0123456789abcdef", 2_500_000, 0),
)


def outcome(old: int, new: int, score_points: float = 35.5, reasons: Any = REASONS) -> Outcome:
    return Outcome(
        old_class=old,
        new_class=new,
        score=round(score_points * M),
        asof=T,
        due=0,
        reasons=reasons if old != new else (),
    )


def envelope(msg: Message) -> OutgoingEnvelope:
    return OutgoingEnvelope.model_validate_json(msg.value)


def kinds(msgs: Any) -> list[tuple[str, str]]:
    return [(m.kind, m.trigger) for m in msgs]


@pytest.mark.parametrize(
    ("old", "new", "cause", "expected"),
    [
        pytest.param(B, B, COMPLAINT, [], id="unchanged B"),
        pytest.param(D, D, PENALTY, [], id="unchanged D: no second class_d task"),
        pytest.param(0, A, PENALTY, [], id="new enterprise first classified A"),
        pytest.param(0, 0, TICK, [], id="reevaluation of an unknown enterprise"),
        pytest.param(0, B, PENALTY, [("alert", "")], id="new enterprise first classified B"),
        pytest.param(A, B, COMPLAINT, [("alert", "")], id="A to B"),
        pytest.param(B, C, PENALTY, [("alert", "")], id="B to C"),
        pytest.param(C, B, TICK, [("alert", "")], id="C to B as a penalty fades"),
        pytest.param(D, C, TICK, [("alert", "")], id="leaving D: no task"),
        pytest.param(C, D, PENALTY, [("alert", ""), ("task", "class_d")], id="entering D"),
        pytest.param(0, D, PENALTY, [("alert", ""), ("task", "class_d")], id="new and D"),
        pytest.param(C, D, TICK, [("alert", ""), ("task", "class_d")], id="D by time"),
        pytest.param(
            B,
            D,
            LISTING,
            [("alert", ""), ("task", "serious_violation")],
            id="serious violation drives B to D: one task",
        ),
        pytest.param(
            D, D, LISTING, [("task", "serious_violation")], id="serious violation while in D"
        ),
    ],
)
def test_which_outcomes_warrant_messages(
    old: int, new: int, cause: Cause, expected: list[tuple[str, str]]
) -> None:
    assert kinds(derive(USCC, cause, outcome(old, new), VERSION)) == expected


def test_may_warrant_is_exactly_whether_some_cause_gets_a_message() -> None:
    # The hot path skips derive where may_warrant is False, and apply.lua keeps a duplicate's
    # outcome only where it is True: a False with a message would lose that message on
    # redelivery, a True without one would cost the ledger an outcome for nothing.
    causes = [PENALTY, COMPLAINT, LISTING, TICK]
    for old in (0, A, B, C, D):
        for new in (0, A, B, C, D):
            o = outcome(old, new)
            some = any(derive(USCC, cause, o, VERSION) for cause in causes)
            assert may_warrant(o) == some, (old, new)


def test_a_class_change_alert_says_what_changed_and_why() -> None:
    [msg] = derive(USCC, PENALTY, outcome(B, C, 35.5), VERSION)
    assert msg.kind == "alert"
    assert msg.type == "riskmon.alert.class_changed"
    assert msg.key == USCC.encode()  # same Kafka key as the enterprise's input events
    env = envelope(msg)
    assert env.id == msg.id
    assert env.type == msg.type
    assert env.source == SOURCE
    assert env.subject == USCC
    assert env.time == ASOF
    data = env.data
    assert isinstance(data, ClassChanged)
    assert (data.old_class, data.new_class) == ("B", "C")
    assert data.score == pytest.approx(35.5)  # points, not micro-points
    assert data.asof == ASOF
    assert data.model_version == VERSION
    assert data.cause == PENALTY
    assert [(r.key, r.event_type, r.points, r.floor) for r in data.reasons] == [
        ("abn:异-42", "abnormal_list.added", 15.0, True),
        ("pen:罚-117", "penalty.imposed", 18.0, False),
        ("cmp:0123456789abcdef", "complaint.received", 2.5, False),
    ]


def test_a_first_classification_has_no_old_class() -> None:
    [msg] = derive(USCC, PENALTY, outcome(0, C), VERSION)
    data = envelope(msg).data
    assert isinstance(data, ClassChanged)
    assert data.old_class is None
    assert data.new_class == "C"
    assert orjson.loads(msg.value)["data"]["old_class"] is None


def test_entering_d_creates_an_on_site_task() -> None:
    alert, task = derive(USCC, PENALTY, outcome(C, D, 61), VERSION)
    assert alert.kind == "alert"
    assert task.type == "riskmon.task.created"
    assert task.key == USCC.encode()
    env = envelope(task)
    assert env.type == "riskmon.task.created"
    data = env.data
    assert isinstance(data, TaskCreated)
    assert data.task_id == task.id == env.id
    assert data.trigger == "class_d"
    assert data.mode == "on_site"
    assert data.risk_class == "D"
    assert data.uscc == USCC
    assert data.cause == PENALTY
    assert data.model_version == VERSION
    assert data.asof == ASOF
    assert task.id != alert.id


def test_a_serious_violation_listing_creates_one_serious_violation_task() -> None:
    msgs = derive(USCC, LISTING, outcome(B, D, 62), VERSION)
    tasks = [envelope(m).data for m in msgs if m.kind == "task"]
    assert len(tasks) == 1
    assert isinstance(tasks[0], TaskCreated)
    assert tasks[0].trigger == "serious_violation"
    assert tasks[0].cause == LISTING


def ids(uscc: str, cause: Cause, out: Outcome) -> list[str]:
    return [m.id for m in derive(uscc, cause, out, VERSION)]


def test_the_same_cause_yields_the_same_messages() -> None:
    first = derive(USCC, PENALTY, outcome(C, D), VERSION)
    again = derive(USCC, PENALTY, outcome(C, D), VERSION)
    assert [m.id for m in first] == [m.id for m in again]
    assert [m.value for m in first] == [m.value for m in again]


@pytest.mark.parametrize(
    ("uscc", "cause"),
    [
        pytest.param(USCC, PENALTY.model_copy(update={"id": "story-008b"}), id="another event id"),
        pytest.param(USCC, PENALTY.model_copy(update={"source": "/gsxt/610113"}), id="source"),
        pytest.param(OTHER_USCC, PENALTY, id="another enterprise"),
    ],
)
def test_a_different_cause_gets_different_ids(uscc: str, cause: Cause) -> None:
    base = ids(USCC, PENALTY, outcome(C, D))
    other = ids(uscc, cause, outcome(C, D))
    assert len(base) == len(other) == 2
    assert not set(base) & set(other)


def test_ids_do_not_collide_when_source_and_id_split_differently() -> None:
    a = Cause(source="/a", id="b|c", type="penalty.imposed")
    b = Cause(source="/a|b", id="c", type="penalty.imposed")
    assert not set(ids(USCC, a, outcome(C, D))) & set(ids(USCC, b, outcome(C, D)))


ALL = [
    (old, new, cause)
    for old in (0, A, B, C, D)
    for new in (A, B, C, D)
    for cause in (PENALTY, COMPLAINT, LISTING, TICK)
]


@pytest.mark.parametrize(("old", "new", "cause"), ALL)
def test_every_message_is_a_valid_outgoing_envelope(old: int, new: int, cause: Cause) -> None:
    for msg in derive(USCC, cause, outcome(old, new), VERSION):
        env = envelope(msg)
        assert env.subject == USCC
        assert env.id == msg.id
        expected = ClassChanged if msg.kind == "alert" else TaskCreated
        assert isinstance(env.data, expected)
        assert env.data.model_version == VERSION
        # The JSON a consumer reads is exactly what the envelope re-serialises to.
        assert orjson.loads(msg.value) == env.model_dump(mode="json")


def test_an_event_s_messages_are_in_event_time_around_the_changes_it_brought_about() -> None:
    # The event raised its partition's watermark: another enterprise's change due a day
    # before it was made first; its own enterprise's next change, due a day after, was made
    # after it (its watermark stood later still). A warning centre reads them in that order.
    before = Outcome(old_class=C, new_class=D, score=0, asof=T - 86_400, due=0)
    after = Outcome(old_class=B, new_class=A, score=0, asof=T + 86_400, due=0)
    msgs = event_messages(
        USCC,
        PENALTY.source,
        PENALTY.id,
        PENALTY.type,
        outcome(A, B),
        [Fired(OTHER_USCC, before), Fired(USCC, after)],
        VERSION,
    )
    assert [(m.kind, m.key.decode()) for m in msgs] == [
        ("alert", OTHER_USCC),
        ("task", OTHER_USCC),
        ("alert", USCC),
        ("alert", USCC),
    ]
    by_time = derive(OTHER_USCC, time_cause(OTHER_USCC, T - 86_400), before, VERSION)
    assert [m.id for m in msgs[:2]] == [m.id for m in by_time]
    assert envelope(msgs[0]).data.cause == Cause(
        source="/riskmon/ticker", id=f"{OTHER_USCC}@{T - 86_400}", type="riskmon.reevaluate"
    )
    assert [m.id for m in msgs[2:3]] == [
        m.id for m in derive(USCC, PENALTY, outcome(A, B), VERSION)
    ]
    assert envelope(msgs[3]).data.cause.id == f"{USCC}@{T + 86_400}"
