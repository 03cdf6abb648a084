"""What each credit event changes under the shipped default model (scoring/models/default.toml).

Expected numbers are worked out here from the model file's stated numbers, not read back from the
loaded model: penalties ``minor 4, ordinary 10, serious 25, grave 45``; fine steps ``≥ 10,000 CNY
+2, ≥ 100,000 +5, ≥ 1,000,000 +10`` (the highest step reached applies); licence revoked ``+20``;
key domains food, drug, special equipment ``× 1.5`` and counted 1095 days instead of 730;
penalty half-life 180 days; abnormal list at least C, points by reason; serious violation 40
points and D; complaint 3 points, half-life 90 days, 365 days; inspection by result, 730 days,
no fading; a young firm 5 basic points until 365 days after founding.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from schemas.classes import RiskClass
from schemas.codec import CreditEvent
from scoring.changes import KEY_PREFIXES, change_for, event_hash
from scoring.model import Dimension, load_model
from tests.support.builders import at, event

MODEL = load_model()
DAY = 86_400
WHEN = at(60)  # 2026-03-02 12:00 UTC
T = int(WHEN.timestamp())
DECISION = "西未市监罚〔2026〕0117号"


def penalty(
    domain: str = "food",
    fine_cny: float = 50_000,
    severity: str = "ordinary",
    licence_revoked: bool = False,
    decision: str = DECISION,
    **kw: Any,
) -> CreditEvent:
    data = {
        "decision_number": decision,
        "domain": domain,
        "fine_cny": fine_cny,
        "severity": severity,
        "licence_revoked": licence_revoked,
    }
    return event("penalty.imposed", data, when=kw.pop("when", WHEN), **kw)


def test_an_ordinary_food_penalty_with_a_50k_fine() -> None:
    ch = change_for(penalty(), MODEL)
    c = ch.contribution
    assert c is not None
    assert c.points == pytest.approx((10 + 2) * 1.5)  # = 18
    assert c.key == f"pen:{DECISION}"
    assert c.dimension == Dimension.SUPERVISION
    assert c.time == T
    assert c.half_life == 180 * DAY
    assert c.expires == T + 1095 * DAY  # food is a key domain
    assert c.floor == 0
    assert not c.cancelled
    assert ch.asof == T
    assert ch.cancel is None
    assert ch.profile is None


PENALTIES = [
    # (domain, severity, fine CNY, licence revoked, points, days counted)
    ("price", "ordinary", 50_000, False, 10 + 2, 730),
    ("food", "ordinary", 50_000, False, (10 + 2) * 1.5, 1095),
    ("price", "minor", 0, False, 4, 730),
    ("price", "minor", 9_999.99, False, 4, 730),
    ("price", "minor", 10_000, False, 4 + 2, 730),
    ("quality", "serious", 99_999, False, 25 + 2, 730),
    ("quality", "serious", 100_000, False, 25 + 5, 730),
    ("advertising", "grave", 1_000_000, False, 45 + 10, 730),
    ("other", "grave", 5_000_000, True, 45 + 10 + 20, 730),
    ("drug", "grave", 2_000_000, True, (45 + 10 + 20) * 1.5, 1095),
    ("special_equipment", "minor", 0, False, 4 * 1.5, 1095),
    ("licensing", "ordinary", 0, True, 10 + 20, 730),
]


@pytest.mark.parametrize(
    ("domain", "severity", "fine", "revoked", "points", "days"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]}-{row[2]}-{row[3]}") for row in PENALTIES],
)
def test_penalty_points_and_impact_period(
    domain: str, severity: str, fine: float, revoked: bool, points: float, days: int
) -> None:
    c = change_for(penalty(domain, fine, severity, revoked), MODEL).contribution
    assert c is not None
    assert c.points == pytest.approx(points)
    assert c.expires - c.time == days * DAY
    assert c.half_life == 180 * DAY
    assert c.ref == f"{domain}/{severity}"


def test_a_reissued_decision_replaces_rather_than_adds() -> None:
    first = change_for(penalty(fine_cny=0), MODEL).contribution
    corrected = change_for(penalty(fine_cny=200_000, when=at(61)), MODEL).contribution
    assert first is not None and corrected is not None
    assert first.key == corrected.key
    assert corrected.points == pytest.approx((10 + 5) * 1.5)


def test_a_revocation_cancels_the_penalty_by_decision_number() -> None:
    ch = change_for(event("penalty.revoked", {"decision_number": DECISION}, when=at(200)), MODEL)
    assert ch.cancel == f"pen:{DECISION}"
    assert ch.contribution is None
    assert ch.asof == int(at(200).timestamp())


@pytest.mark.parametrize(
    ("reason", "points"),
    [
        ("annual_report_missing", 10),
        ("information_not_disclosed", 10),
        ("false_information", 20),
        ("unreachable_at_address", 15),
    ],
)
def test_an_abnormal_listing_is_at_least_c_until_removed(reason: str, points: float) -> None:
    data = {"decision_number": "异-1", "reason": reason}
    c = change_for(event("abnormal_list.added", data, when=WHEN), MODEL).contribution
    assert c is not None
    assert c.key == "abn:异-1"
    assert c.points == pytest.approx(points)
    assert c.floor == RiskClass.C
    assert c.expires == 0  # counts until removed
    assert c.half_life == 0
    removed = change_for(
        event("abnormal_list.removed", {"decision_number": "异-1"}, when=at(90)), MODEL
    )
    assert removed.cancel == c.key
    assert removed.contribution is None


def test_a_serious_violation_listing_is_d_until_removed() -> None:
    data = {"decision_number": "严-3", "reason": "unlicensed food business"}
    c = change_for(event("serious_violation.added", data, when=WHEN), MODEL).contribution
    assert c is not None
    assert c.key == "svl:严-3"
    assert c.floor == RiskClass.D
    assert c.points == pytest.approx(40)
    assert c.expires == 0
    assert c.half_life == 0
    removed = change_for(
        event("serious_violation.removed", {"decision_number": "严-3"}, when=at(90)), MODEL
    )
    assert removed.cancel == c.key


def complaint(eid: str, source: str = "/12315") -> CreditEvent:
    data = {"channel": "12315_hotline", "category": "food_safety"}
    return event("complaint.received", data, when=WHEN, eid=eid, source=source)


def test_two_complaints_are_two_contributions() -> None:
    a = change_for(complaint("c-1"), MODEL).contribution
    b = change_for(complaint("c-2"), MODEL).contribution
    assert a is not None and b is not None
    assert a.key != b.key
    assert a.key.startswith("cmp:") and b.key.startswith("cmp:")
    for c in (a, b):
        assert c.points == pytest.approx(3)
        assert c.dimension == Dimension.SOCIAL
        assert c.half_life == 90 * DAY
        assert c.expires == T + 365 * DAY
        assert c.ref == "food_safety"


def test_a_redelivered_complaint_is_the_same_contribution() -> None:
    assert change_for(complaint("c-1"), MODEL) == change_for(complaint("c-1"), MODEL)


@pytest.mark.parametrize(
    ("result", "points"),
    [
        ("no_problem", -8),
        ("corrected", 4),
        ("problems_found", 15),
        ("not_at_address", 20),
        ("refused", 25),
    ],
)
def test_inspection_results_are_keyed_per_event(result: str, points: float) -> None:
    data = {"result": result, "plan_id": "SJ-1"}
    a = change_for(event("inspection.completed", data, when=WHEN, eid="i-1"), MODEL).contribution
    b = change_for(event("inspection.completed", data, when=WHEN, eid="i-2"), MODEL).contribution
    assert a is not None and b is not None
    assert a.key != b.key
    assert a.key.startswith("ins:")
    assert a.points == pytest.approx(points)
    assert a.half_life == 0  # credit must not fade by half-life
    assert a.expires == T + 730 * DAY
    assert a.ref == result


def test_a_registration_sets_the_profile_and_a_young_firm_contribution() -> None:
    data = {
        "name": "西安未央示例餐饮管理有限公司",
        "entity_type": "individual_business",
        "division_code": "610112",
        "industry_code": "H6210",
        "founded_on": "2025-03-01",
        "registered_capital_cny": 5_000_000,
        "new_economy": True,
    }
    ch = change_for(event("enterprise.registered", data, when=WHEN), MODEL)
    assert ch.profile is not None
    p = ch.profile
    assert (p.division, p.industry, p.new_economy, p.entity_type) == (
        "610112",
        "H6210",
        True,
        "individual_business",
    )
    assert p.time == T
    founded = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp())
    c = ch.contribution
    assert c is not None
    assert c.key == "reg"
    assert c.dimension == Dimension.BASIC
    assert c.points == pytest.approx(5)
    assert c.time == founded
    assert c.expires == founded + 365 * DAY  # 2026-03-01: one year old
    assert dt.datetime.fromtimestamp(c.expires, dt.UTC).date() == dt.date(2026, 3, 1)
    assert c.half_life == 0
    assert ch.asof == T  # the state's clock moves to the event, not to founding


def test_a_reevaluation_moves_only_the_clock() -> None:
    asof = at(400)
    ch = change_for(
        event("riskmon.reevaluate", {"asof": asof.isoformat()}, when=WHEN, source="/t"), MODEL
    )
    assert ch.asof == int(asof.timestamp())
    assert (ch.contribution, ch.cancel, ch.profile) == (None, None, None)


def test_every_contribution_key_prefix_names_the_event_type_that_creates_it() -> None:
    examples = {
        "penalty.imposed": penalty(),
        "abnormal_list.added": event(
            "abnormal_list.added",
            {"decision_number": "a", "reason": "false_information"},
            when=WHEN,
        ),
        "serious_violation.added": event(
            "serious_violation.added", {"decision_number": "s", "reason": "r"}, when=WHEN
        ),
        "complaint.received": complaint("c-9"),
        "inspection.completed": event("inspection.completed", {"result": "refused"}, when=WHEN),
    }
    for etype, ev in examples.items():
        c = change_for(ev, MODEL).contribution
        assert c is not None
        assert str(KEY_PREFIXES[c.key.split(":", 1)[0]]) == etype


def test_event_hash_is_the_cloudevents_identity() -> None:
    h = event_hash("/12315", "c-1")
    assert len(h) == 16 and int(h, 16) >= 0
    assert event_hash("/12315", "c-1") == h
    assert event_hash("/gsxt/610112", "c-1") != h  # same id, another source
    assert event_hash("/12315", "c-2") != h
    # The boundary between source and id is not ambiguous.
    assert event_hash("/a", "bc") != event_hash("/ab", "c")


def test_the_same_id_from_two_sources_is_two_complaints() -> None:
    a = change_for(complaint("1", source="/12315"), MODEL)
    b = change_for(complaint("1", source="/letters"), MODEL)
    assert a.event_hash != b.event_hash
    assert a.contribution is not None and b.contribution is not None
    assert a.contribution.key != b.contribution.key
