"""The enterprise warning rules: each fires on a crafted story and stays silent on its near
miss; a rule fires once per window (or approach), and the same evidence gives the same id."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from alerts.rules import Message, time_cause
from alerts.warnings.address import address_hash, address_warning, is_level, normalise
from alerts.warnings.config import AddressCluster
from alerts.warnings.enterprise import Event, evaluate_change, evaluate_event
from alerts.warnings.state import EnterpriseWarnings, Kept, decode_state, encode_state
from schemas.alerts import Evidence
from scoring.partition import Fired
from tests.support.warnings import (
    DAY,
    OTHER,
    RULES,
    T0,
    USCC,
    complaint,
    outcome,
    penalty,
    registration,
    revoked,
    rules_of,
    scored,
    warnings_in,
)


def run(events: Sequence[Event], state: EnterpriseWarnings | None = None) -> list[list[Message]]:
    """Each event's warnings, the state carried from one to the next (and through its codec)."""
    out = []
    for ev in events:
        state, raised = evaluate_event(state, ev, RULES)
        if state is not None:
            assert decode_state(encode_state(state)) == state
        out.append([r.message for r in raised])
    return out


def flat(per_event: Sequence[Sequence[Message]]) -> list[Message]:
    return [m for ms in per_event for m in ms]


# --- complaint surge: 5 in 30 days, 3 times the trailing year's rate -------------------------


def test_five_complaints_in_a_month_on_a_quiet_firm_raise_a_surge_on_the_fifth() -> None:
    got = run([complaint(T0 + n * 5 * DAY, n) for n in range(5)])
    assert [rules_of(ms) for ms in got] == [[], [], [], [], ["complaint-surge"]]
    (w,) = warnings_in(got[-1])
    assert w.severity == "warning" and w.uscc == USCC and w.rule_kind == "complaint_surge"
    assert [e.id for e in w.evidence] == [f"c-{n}" for n in range(5)]
    assert w.measures["count"] == 5 and w.measures["trailing_count"] == 0
    assert w.window.start.timestamp() == T0 + 20 * DAY - 30 * DAY + 1
    assert w.window.end.timestamp() == T0 + 20 * DAY + 1


def test_four_in_a_month_or_five_spread_over_more_than_thirty_days_are_silent() -> None:
    assert not flat(run([complaint(T0 + n * 5 * DAY, n) for n in range(4)]))
    # the fifth comes 30 days after the first: the first has left the window (t - W, t]
    assert not flat(run([complaint(T0 + n * 7 * DAY + (n == 4) * 2 * DAY, n) for n in range(5)]))


def test_a_firm_always_complained_about_does_not_surge_at_its_own_rate() -> None:
    # 60 complaints in the year before: 5 a month is its normal rate
    history = [complaint(T0 + n * 6 * DAY, n) for n in range(60)]
    start = T0 + 61 * 6 * DAY
    normal = [complaint(start + n * 5 * DAY, 100 + n) for n in range(5)]
    got = run([*history, *normal])
    assert "complaint-surge" not in rules_of(flat(got[60:]))
    # sixteen in a month is more than three times that rate: a surge
    burst = [complaint(start + n * DAY, 200 + n) for n in range(16)]
    got = run([*history, *burst])
    fired = [w for w in warnings_in(flat(got[60:])) if w.rule == "complaint-surge"]
    assert len(fired) == 1 and fired[0].measures["ratio"] >= 3.0


def test_a_surge_fires_once_per_window_while_it_holds_then_again_after() -> None:
    events = [complaint(T0 + n * DAY, n) for n in range(12)]  # 12 in 12 days
    events += [complaint(T0 + 40 * DAY + n * DAY, 100 + n) for n in range(5)]
    got = run(events)
    fired = [i for i, ms in enumerate(got) if "complaint-surge" in rules_of(ms)]
    assert fired == [4, 16]  # the 5th; the next once 30 days have passed and it holds again


# --- penalty cluster: 3 in 180 days, revoked ones not counted --------------------------------


def test_three_penalties_in_half_a_year_raise_a_cluster() -> None:
    got = run([penalty(T0 + n * 60 * DAY, f"P{n}") for n in range(3)])
    assert [rules_of(ms) for ms in got] == [[], [], ["penalty-cluster"]]
    (w,) = warnings_in(got[-1])
    assert [e.type for e in w.evidence] == ["penalty.imposed"] * 3 and w.measures["count"] == 3


@pytest.mark.parametrize(
    "events",
    [
        # the first falls out of the 180 days
        [penalty(T0 + n * 91 * DAY, f"P{n}") for n in range(3)],
        # one of them revoked before the third
        [penalty(T0, "P0"), penalty(T0 + DAY, "P1"), revoked(T0 + 2 * DAY, "P1"),
         penalty(T0 + 3 * DAY, "P2")],
        # its revocation came first (sticky, as scoring's cancel)
        [revoked(T0, "P1"), penalty(T0 + DAY, "P0"), penalty(T0 + 2 * DAY, "P1"),
         penalty(T0 + 3 * DAY, "P2")],
        # the same decision re-published under another id is one penalty
        [penalty(T0, "P0"), penalty(T0 + DAY, "P1"), penalty(T0 + DAY, "P1")],
    ],
    ids=["spread", "revoked", "revoked-first", "same-decision"],
)  # fmt: skip
def test_penalty_near_misses_are_silent(events: list[Event]) -> None:
    assert not flat(run(events))


# --- near boundary: within 5 points under the next threshold, and rising ---------------------


def test_a_score_rising_to_within_five_points_of_the_next_threshold_warns_once() -> None:
    events = [
        scored(T0, 1, outcome(1, 2, 12.0, T0)),  # B, far from C (30)
        scored(T0 + DAY, 2, outcome(2, 2, 26.0, T0 + DAY)),  # rising into [25, 30): warn
        scored(T0 + 2 * DAY, 3, outcome(2, 2, 28.0, T0 + 2 * DAY)),  # still in the band: quiet
        scored(T0 + 3 * DAY, 4, outcome(2, 2, 20.0, T0 + 3 * DAY)),  # left it
        scored(T0 + 4 * DAY, 5, outcome(2, 2, 27.0, T0 + 4 * DAY)),  # back, rising: warn again
    ]
    got = run(events)
    assert [rules_of(ms) for ms in got] == [[], ["near-boundary"], [], [], ["near-boundary"]]
    w = warnings_in(got[1])[0]
    assert w.severity == "info"
    assert w.measures == {"score": 26.0, "previous_score": 12.0, "threshold": 30.0}


@pytest.mark.parametrize(
    "scores",
    [
        [29.0, 26.0],  # falling into the band
        [12.0, 24.9],  # rising, but 5.1 points short
        [29.0, 29.0],  # in the band, not rising
    ],
)
def test_near_boundary_near_misses_are_silent(scores: list[float]) -> None:
    events = [scored(T0 + n * DAY, n, outcome(2, 2, s, T0 + n * DAY)) for n, s in enumerate(scores)]
    assert not flat(run(events))


def test_after_an_unknown_outcome_the_next_score_is_not_found_rising() -> None:
    # a scoring duplicate whose first copy was no news: new_class 0, no score. The score
    # before the next event is unknown: no warning on a comparison with an older one
    first = scored(T0, 1, outcome(2, 2, 12.0, T0))
    unknown = scored(T0 + DAY, 2, outcome(0, 0, 0.0, 0))
    then = scored(T0 + 2 * DAY, 3, outcome(2, 2, 26.0, T0 + 2 * DAY))
    rising = scored(T0 + 3 * DAY, 4, outcome(2, 2, 27.0, T0 + 3 * DAY))
    assert [rules_of(ms) for ms in run([first, unknown, then, rising])] == [[], [], [], []]
    # and it is known again from the next outcome on
    again = scored(T0 + 4 * DAY, 5, outcome(2, 2, 20.0, T0 + 4 * DAY))
    up = scored(T0 + 5 * DAY, 6, outcome(2, 2, 26.0, T0 + 5 * DAY))
    got = run([first, unknown, again, up])
    assert [rules_of(ms) for ms in got] == [[], [], [], ["near-boundary"]]


# --- first entry to D ----------------------------------------------------------------------


def test_the_first_entry_to_d_is_critical_and_a_second_is_silent() -> None:
    events = [
        scored(T0, 1, outcome(3, 4, 61.0, T0)),
        scored(T0 + DAY, 2, outcome(4, 3, 50.0, T0 + DAY)),
        scored(T0 + 2 * DAY, 3, outcome(3, 4, 62.0, T0 + 2 * DAY)),
    ]
    got = run(events)
    assert [rules_of(ms) for ms in got] == [["first-d"], [], []]
    w = warnings_in(got[0])[0]
    assert w.severity == "critical" and [e.id for e in w.evidence] == ["m-1"]


def test_a_firm_already_in_d_does_not_enter_it_for_the_first_time() -> None:
    got = run([scored(T0, 1, outcome(4, 4, 70.0, T0)), scored(T0 + 1, 2, outcome(4, 4, 75.0, T0))])
    assert not flat(got)


def test_a_time_driven_entry_to_d_warns_with_the_tickers_cause() -> None:
    due = T0 + 10 * DAY
    state, raised = evaluate_change(None, Fired(OTHER, outcome(3, 4, 60.5, due)), RULES)
    (w,) = warnings_in([r.message for r in raised])
    cause = time_cause(OTHER, due)
    assert w.uscc == OTHER and (w.evidence[0].source, w.evidence[0].id) == (cause.source, cause.id)
    assert state is not None and state.ever_d
    assert not evaluate_change(state, Fired(OTHER, outcome(3, 4, 61.0, due + DAY)), RULES)[1]


# --- ids, and what is kept -----------------------------------------------------------------


def test_the_same_evidence_gives_the_same_id_and_other_evidence_another() -> None:
    events = [complaint(T0 + n * DAY, n) for n in range(5)]
    a = flat(run(events))
    b = flat(run(events))
    assert [m.id for m in a] == [m.id for m in b] and len(a) == 1
    other = flat(run([complaint(T0 + n * DAY, n + 1) for n in range(5)]))
    assert other[0].id != a[0].id


def test_events_no_rule_looks_at_leave_no_state() -> None:
    state, raised = evaluate_event(None, scored(T0, 1, outcome(0, 0, 0.0, 0)), RULES)
    assert state is None and not raised


def test_the_registration_gives_warnings_their_division_and_industry() -> None:
    events = [registration(T0), *[complaint(T0 + n * DAY, n) for n in range(1, 6)]]
    (w,) = warnings_in(flat(run(events)))
    assert (w.division, w.industry) == ("610112", "F51")


def test_old_complaints_are_forgotten() -> None:
    state = None
    for n in range(3):
        state, _ = evaluate_event(state, complaint(T0 + n * DAY, n), RULES)
    state, _ = evaluate_event(state, complaint(T0 + 500 * DAY, 9), RULES)
    assert state is not None and [k.id for k in state.complaints] == ["c-9"]


# --- the address cluster ---------------------------------------------------------------------


def test_spellings_of_one_address_normalise_alike_and_the_hash_hides_it() -> None:
    a = "西安市 未央区 凤城八路１６６号（创业大厦）"
    b = "西安市未央区凤城八路166号创业大厦"
    assert normalise(a) == normalise(b)
    assert address_hash(a) == address_hash(b) and len(address_hash(a)) == 32
    assert "西安" not in address_hash(a)
    assert address_hash("凤城八路167号") != address_hash(b)
    assert address_hash(" ，。 ") == ""


@pytest.mark.parametrize(
    ("rank", "level"),
    [(9, False), (10, True), (11, False), (15, False), (20, True), (30, False), (40, True)],
)
def test_levels_are_n_times_a_power_of_two(rank: int, level: bool) -> None:
    assert is_level(rank, 10) is level


def test_an_address_warning_id_names_the_address_and_level_not_who_reached_it() -> None:
    rule = AddressCluster(
        id="address-cluster", kind="address_cluster", severity="warning", min_enterprises=10
    )
    h = address_hash("凤城八路166号")
    ev = registration(T0, USCC, "凤城八路166号")
    proof = Evidence(source=ev.source, id=ev.event_id, type=ev.etype, time=T0)  # type: ignore[arg-type]
    one = address_warning(rule, "v", USCC, h, 10, proof)
    two = address_warning(rule, "v", OTHER, h, 10, proof)
    assert one.message.id == two.message.id
    assert address_warning(rule, "v", USCC, h, 20, proof).message.id != one.message.id
    (w,) = warnings_in([one.message])
    assert w.measures["enterprises"] == 10 and "凤城" not in one.message.value.decode()


def test_a_state_with_every_field_set_survives_its_stored_form() -> None:
    state = EnterpriseWarnings(
        complaints=[Kept(T0, "/12315", "c-1")],
        penalties=[Kept(T0 + 1, "/credit", "p-1", "P1")],
        revoked=["P0"],
        fired={"penalty-cluster": T0},
        score=26_000_000,
        near=3,
        ever_d=True,
        division="610112",
        industry="F51",
        registered_at=T0 - DAY,
    )
    assert decode_state(encode_state(state)) == state
    assert decode_state(encode_state(EnterpriseWarnings())) == EnterpriseWarnings()
