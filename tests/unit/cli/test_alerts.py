"""`riskmon alerts`: each published alert or task as one readable line."""

from __future__ import annotations

import pytest

from cli.alerts import line, topics_for
from schemas.alerts import (
    ALERT_CLASS_CHANGED,
    OBSERVATION_ENDED,
    OBSERVATION_STARTED,
    REMINDER_SENT,
    TASK_CREATED,
    TASK_OVERDUE,
)
from streams.settings import load_settings

USCC = "91610112MA6TGQ1K2M"
CAUSE = {"source": "/gsxt/610112", "id": "story-009", "type": "abnormal_list.added"}


def alert(old: str | None, new: str, reasons: list[dict[str, object]]) -> dict[str, object]:
    return {
        "type": ALERT_CLASS_CHANGED,
        "subject": USCC,
        "time": "2026-04-01T02:00:00+00:00",
        "data": {
            "uscc": USCC,
            "old_class": old,
            "new_class": new,
            "score": 31.5,
            "cause": CAUSE,
            "reasons": reasons,
        },
    }


LISTING = {
    "key": "abn:西未市监异〔2026〕0042号",
    "event_type": "abnormal_list.added",
    "points": 15.0,
    "floor": True,
}
COMPLAINT = {
    "key": "cmp:9f86d081",
    "event_type": "complaint.received",
    "points": 2.5,
    "floor": False,
}


def test_an_alert_shows_time_code_classes_cause_and_top_reason() -> None:
    assert line(alert("B", "C", [LISTING, COMPLAINT])) == (
        f"2026-04-01 02:00:00Z  {USCC}  B→C  cause abnormal_list.added  top reason"
        " abnormal_list.added 西未市监异〔2026〕0042号 (15.0 pts, sets a minimum class)"
    )


def test_a_first_classification_and_a_hashed_reference() -> None:
    text = line(alert(None, "A", [COMPLAINT]))
    assert f"{USCC}  new→A  " in text
    assert text.endswith("top reason complaint.received (2.5 pts)")  # no event hash shown


def test_an_alert_without_reasons_says_none() -> None:
    assert line(alert("D", "C", [])).endswith("top reason none")


def test_a_task_shows_its_trigger() -> None:
    doc = {
        "type": TASK_CREATED,
        "subject": USCC,
        "time": "2026-05-06T09:30:00+08:00",
        "data": {
            "task_id": "t-1",
            "uscc": USCC,
            "trigger": "serious_violation",
            "mode": "on_site",
            "risk_class": "D",
            "cause": {**CAUSE, "type": "serious_violation.added"},
        },
    }
    assert line(doc) == (
        f"2026-05-06 09:30:00+08:00  {USCC}  task on_site, trigger serious_violation (class D)"
        "  cause serious_violation.added"
    )


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "riskmon.other", "subject": USCC, "time": "2026-04-01T02:00:00Z", "data": {}},
        {"type": ALERT_CLASS_CHANGED, "subject": USCC, "time": "not a time"},
    ],
)
def test_an_odd_record_is_shown_not_dropped(doc: dict[str, object]) -> None:
    assert USCC in line(doc)


def test_types_pick_their_topics() -> None:
    s = load_settings()
    assert topics_for(s, None) == [s.alerts_topic, s.tasks_topic, s.reminders_topic]
    assert topics_for(s, [REMINDER_SENT]) == [s.reminders_topic]
    assert topics_for(s, [TASK_CREATED]) == [s.tasks_topic]
    assert topics_for(s, [ALERT_CLASS_CHANGED, ALERT_CLASS_CHANGED]) == [s.alerts_topic]


def doc_of(kind: str, data: dict[str, object]) -> dict[str, object]:
    return {"type": kind, "subject": USCC, "time": "2026-05-06T09:30:00+08:00", "data": data}


def test_supervision_outputs_say_what_befell_the_task_period_or_enterprise() -> None:
    overdue = line(
        doc_of(
            TASK_OVERDUE,
            {"task_id": "t-9", "trigger": "random_plan", "state": "assigned", "due": "2026-05-06"},
        )
    )
    assert overdue.endswith(
        "task overdue since 2026-05-06, trigger random_plan, still assigned  task t-9"
    )
    started = line(doc_of(OBSERVATION_STARTED, {"until": "2028-01-01", "cause": CAUSE}))
    assert "observation period until 2028-01-01" in started
    ended = line(doc_of(OBSERVATION_ENDED, {"reason": "bottom_line", "cause": CAUSE}))
    assert "observation period ended: bottom_line" in ended
    reminder = line(doc_of(REMINDER_SENT, {"kind": "abnormal_list", "ref": "X-1"}))
    assert reminder.endswith("reminder abnormal_list (X-1)")
