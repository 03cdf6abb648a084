"""The fold's promises: order independence, idempotency, exact reversal, fading on schedule."""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import CreditEvent
from scoring.changes import change_for
from scoring.fold import EnterpriseState, Params, class_at, fold, next_change
from scoring.model import ScoringModel, load_model
from tests.support.builders import at, event
from tests.support.histories import histories

MODEL = load_model()
P = Params.of(MODEL)
DAY = 86_400


def changes(events: list[CreditEvent], model: ScoringModel = MODEL) -> list:
    return [change_for(e, model) for e in events]


def final(events: list[CreditEvent]) -> EnterpriseState:
    return fold(changes(events), P)[0]


def reevaluate(day: int) -> CreditEvent:
    when = at(day)
    return event(
        "riskmon.reevaluate", {"asof": when.isoformat()}, when=when, source="/riskmon/ticker"
    )


@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_final_state_does_not_depend_on_arrival_order(history, rnd) -> None:
    shuffled = list(history)
    rnd.shuffle(shuffled)
    assert final(shuffled) == final(history)


@settings(max_examples=200, deadline=None)
@given(histories(), st.data())
def test_applying_an_event_again_changes_nothing(history, data) -> None:
    again = data.draw(st.lists(st.sampled_from(history), max_size=5))
    assert final(history + again) == final(history)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_revocation_cancels_exactly_the_penalty_it_names(history) -> None:
    # History without D9, then the same plus a penalty D9 and its revocation, both evaluated at
    # the same moment: the revoked penalty leaves no trace in class or score.
    later = reevaluate(1000)
    penalty = event(
        "penalty.imposed",
        {"decision_number": "D9", "domain": "drug", "fine_cny": 2_000_000, "severity": "grave"},
        when=at(400),
        eid="p9",
    )
    revoke = event("penalty.revoked", {"decision_number": "D9"}, when=at(500), eid="r9")
    base = final([*history, later])
    with_revoked = final([*history, penalty, revoke, later])
    assert (with_revoked.klass, with_revoked.score) == (base.klass, base.score)
    # and a revocation that arrives before its penalty still wins
    early = final([revoke, *history, penalty, later])
    assert (early.klass, early.score) == (base.klass, base.score)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_listing_removal_cancels_exactly_the_listing(history) -> None:
    later = reevaluate(1000)
    listed = event(
        "serious_violation.added",
        {"decision_number": "S9", "reason": "fraud"},
        when=at(300),
        eid="s9",
    )
    removed = event("serious_violation.removed", {"decision_number": "S9"}, when=at(310), eid="x9")
    base = final([*history, later])
    after = final([*history, listed, removed, later])
    assert (after.klass, after.score) == (base.klass, base.score)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_scheduled_change_is_the_first_second_the_class_differs(history) -> None:
    state = final(history)
    contribs = list(state.contributions.values())
    due = next_change(contribs, state.asof, P)
    if due == 0:
        far = state.asof + P.horizon
        assert class_at(contribs, far, P)[0] == state.klass
        return
    assert due > state.asof
    assert class_at(contribs, due - 1, P)[0] == state.klass
    assert class_at(contribs, due, P)[0] != state.klass
    # and it is the first: the class holds at every expiry (and just before it) up to ``due``
    for end in sorted({c.expires for c in contribs if state.asof < c.expires < due}):
        assert class_at(contribs, end - 1, P)[0] == state.klass
        assert class_at(contribs, end, P)[0] == state.klass


def test_a_penalty_fades_to_half_after_its_half_life() -> None:
    pen = event(
        "penalty.imposed",
        {"decision_number": "X", "domain": "price", "fine_cny": 0, "severity": "serious"},
        when=at(0),
    )
    s0 = final([pen])
    s1 = final([pen, reevaluate(180)])  # model: serious = 25 points, half-life 180 days
    assert s0.score == 25_000_000
    assert abs(s1.score - 12_500_000) <= 1


def test_a_contribution_stops_counting_at_the_end_of_its_impact_period() -> None:
    cmp = event("complaint.received", {"channel": "letter", "category": "price"}, when=at(0))
    assert final([cmp, reevaluate(364)]).score > 0
    assert final([cmp, reevaluate(366)]).score == 0


def test_class_falls_by_time_alone_exactly_when_scheduled() -> None:
    # A serious price penalty (25) puts the firm in B (10..30); with a 180-day half-life it
    # falls under 10 after 180 * log2(2.5) = 237.9 days.
    pen = event(
        "penalty.imposed",
        {"decision_number": "X", "domain": "price", "fine_cny": 0, "severity": "serious"},
        when=at(0, hour=0),
    )
    state = final([pen])
    assert state.klass == 2
    expected = at(0, hour=0).timestamp() + 180 * DAY * math.log2(25 / 10)
    assert abs(state.due - expected) <= 2  # micro-point rounding moves it by about a second
    before = fold(changes([pen]), P)[0]
    _, outcomes = fold(
        [
            change_for(reevaluate_at(state.due - 1), MODEL),
            change_for(reevaluate_at(state.due), MODEL),
        ],
        P,
        before,
    )
    assert [(o.old_class, o.new_class) for o in outcomes] == [(2, 2), (2, 1)]


def reevaluate_at(ts: int) -> CreditEvent:
    when = dt.datetime.fromtimestamp(ts, dt.UTC)
    return event(
        "riskmon.reevaluate", {"asof": when.isoformat()}, when=when, source="/riskmon/ticker"
    )


def test_listings_set_a_minimum_class_while_active() -> None:
    listed = event(
        "abnormal_list.added",
        {"decision_number": "A1", "reason": "annual_report_missing"},
        when=at(0),
    )
    assert final([listed]).klass == 3  # 10 points alone is only B; the listing lifts it to C
    removed = event("abnormal_list.removed", {"decision_number": "A1"}, when=at(5))
    assert final([listed, removed]).klass == 1


def test_reevaluating_an_unknown_enterprise_creates_nothing() -> None:
    state, outcomes = fold(changes([reevaluate(10)]), P)
    assert state == EnterpriseState()
    assert outcomes[0].new_class == 0
