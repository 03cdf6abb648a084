"""The order of rules within one event: what a trigger does when the same event also changes
the class, and a time-driven change of another enterprise."""

from __future__ import annotations

from schemas.events import ComplaintReceived, PenaltyImposed
from tests.support.supervision import DAY, C, Store, body, ev, registered
from tests.support.supervision import T0 as T


def test_a_bottom_line_penalty_that_also_drops_the_firm_to_c_ends_as_bottom_line() -> None:
    s = Store()
    s.run([registered(T)])
    pen = PenaltyImposed(decision_number="罚-9", domain="drug", fine_cny=1e5, severity="serious")
    (out,) = s.run([ev("penalty.imposed", pen, T + DAY, cls=C)])
    assert [(m.type, m.trigger) for m in out] == [
        ("riskmon.task.created", "observation_trigger"),
        ("riskmon.observation.ended", ""),
    ]
    assert body(out[0])["risk_class"] == "C"  # the task carries the class after the event
    assert body(out[1])["reason"] == "bottom_line"


def test_a_safety_complaint_that_drops_the_firm_to_c_reminds_then_ends_the_period() -> None:
    s = Store()
    s.run([registered(T)])
    c = ComplaintReceived(channel="12315_hotline", category="food_safety")
    (out,) = s.run([ev("complaint.received", c, T + DAY, cls=C)])
    assert [body(m).get("kind", body(m).get("reason")) for m in out] == [
        "observation_trigger",
        "class_c",
    ]
