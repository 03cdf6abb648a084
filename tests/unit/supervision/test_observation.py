"""Observation rules on their own: when a period starts, what counts as a trigger, and what a
minor trigger warrants."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel

from schemas.events import (
    CaseLeadTransferred,
    ComplaintReceived,
    EnterpriseRegistered,
    InspectionRequired,
    MonitoringSignal,
    PenaltyImposed,
)
from supervision.config import ObservationConfig, load
from supervision.observation import (
    DAY,
    class_end_reason,
    end,
    measure,
    on_site_trigger,
    period,
    within,
)
from supervision.records import ObservationRecord

CFG = load(None).observation
T = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp())


def reg(new_economy: bool = True, founded: dt.date = dt.date(2025, 1, 1)) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        name="x", division_code="610112", industry_code="I65", founded_on=founded,
        registered_capital_cny=0.0, new_economy=new_economy,
    )  # fmt: skip


def obs() -> ObservationRecord:
    return ObservationRecord("91610112MA6TGQ1K2M", T - 60 * DAY, T + 600 * DAY, active=True)


def cfg(**kw: object) -> ObservationConfig:
    return CFG.model_copy(update=kw)


@pytest.mark.parametrize(
    ("new_class", "starts"), [(0, True), (1, True), (2, True), (3, False), (4, False)]
)
def test_a_and_b_start_c_and_d_do_not(new_class: int, starts: bool) -> None:
    assert (period(reg(), new_class, T, 0, CFG) is not None) is starts


def test_the_period_runs_its_days_from_midnight_of_the_founding_date() -> None:
    since, until = period(reg(), 1, T, 0, CFG) or (0, 0)
    assert since == int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp())
    assert until - since == 730 * DAY
    assert period(reg(), 1, until, 0, CFG) is None  # over by the registration's time
    assert period(reg(), 1, until - 1, 0, CFG) == (since, until)
    assert period(reg(new_economy=False), 1, T, 0, CFG) is None


def test_within_is_half_open_and_needs_an_active_period() -> None:
    o = obs()
    assert within(o, o.since) and not within(o, o.until) and not within(o, o.since - 1)
    end(o, T, "expired")
    assert not within(o, T - DAY)
    assert (o.active, o.ended_at, o.ended_reason) == (False, T, "expired")


FOOD = PenaltyImposed(decision_number="罚-1", domain="food", fine_cny=1.0, severity="minor")
PRICE = PenaltyImposed(decision_number="罚-2", domain="price", fine_cny=1.0, severity="serious")
LEAD = CaseLeadTransferred(reason="r", from_department="d")
REQUIRED = InspectionRequired(legal_basis="l")


@pytest.mark.parametrize(
    ("etype", "data", "config", "expected"),
    [
        ("penalty.imposed", FOOD, CFG, "bottom_line"),
        ("penalty.imposed", PRICE, CFG, None),
        ("penalty.imposed", PRICE, cfg(bottom_line_domains=frozenset({"price"})), "bottom_line"),
        ("penalty.imposed", FOOD, cfg(on_site_triggers=frozenset()), None),
        ("case_lead.transferred", LEAD, CFG, "case_lead"),
        ("inspection.required", REQUIRED, CFG, "legal_requirement"),
        ("inspection.required", REQUIRED, cfg(on_site_triggers=frozenset()), None),
    ],
)
def test_on_site_triggers(
    etype: str, data: BaseModel, config: ObservationConfig, expected: object
) -> None:
    assert on_site_trigger(etype, data, config) == expected


def complaint(category: str = "service") -> ComplaintReceived:
    return ComplaintReceived(channel="12315_hotline", category=category)  # type: ignore[arg-type]


SIGNAL = MonitoringSignal(code="X", severity="low")


def test_the_first_minor_trigger_reminds_the_second_interviews_then_afresh() -> None:
    o = obs()
    assert measure(o, "monitoring.signal", SIGNAL, T, CFG) == "remind"
    assert measure(o, "monitoring.signal", SIGNAL, T + 89 * DAY, CFG) == "interview"
    assert measure(o, "monitoring.signal", SIGNAL, T + 90 * DAY, CFG) == "remind"


def test_a_late_trigger_within_the_window_of_the_first_counts_as_second() -> None:
    o = obs()
    assert measure(o, "monitoring.signal", SIGNAL, T, CFG) == "remind"
    assert measure(o, "monitoring.signal", SIGNAL, T - 10 * DAY, CFG) == "interview"


def test_complaints_need_the_threshold_unless_about_safety() -> None:
    o = obs()
    assert measure(o, "complaint.received", complaint(), T, CFG) is None
    assert measure(o, "complaint.received", complaint(), T + DAY, CFG) is None
    assert measure(o, "complaint.received", complaint(), T + 2 * DAY, CFG) == "remind"
    assert o.complaints == []  # counted: the next three count afresh
    assert (
        measure(o, "complaint.received", complaint("food_safety"), T + 3 * DAY, CFG) == "interview"
    )


def test_old_complaints_drop_out_of_the_window() -> None:
    o = obs()
    for d in (0, 20, 40):  # never three within 30 days
        assert measure(o, "complaint.received", complaint(), T + d * DAY, CFG) is None


def test_a_trigger_not_configured_is_none() -> None:
    none = cfg(minor_triggers=frozenset())
    o = obs()
    assert measure(o, "monitoring.signal", SIGNAL, T, none) is None
    assert measure(o, "complaint.received", complaint("food_safety"), T, none) is None
    assert measure(o, "penalty.imposed", PRICE, T, CFG) is None


def test_class_end_reasons() -> None:
    assert [class_end_reason(n) for n in range(5)] == [None, None, None, "class_c", "class_d"]
