"""A partition's log in event time: when time-driven class changes happen, and in what order."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import CreditEvent
from scoring.changes import Change, change_for
from scoring.fold import EnterpriseState, Outcome, Params, apply
from scoring.model import load_model
from scoring.partition import Fired, Partition
from tests.support.builders import at, event
from tests.support.histories import histories

MODEL = load_model()
P = Params.of(MODEL)
DAY = 86_400
X, Y, Z = "91110000600037341L", "91440101MA5CJQ4N59", "91610112MA6TGQ1K2M"


def t(day: int) -> int:
    return int(at(day).timestamp())


def penalty(uscc: str, day: int, severity: str = "serious", n: str = "D1") -> Change:
    """25 points when serious (B) until about day 238 after, when it has faded below 10."""
    data = {"decision_number": n, "domain": "price", "fine_cny": 0, "severity": severity}
    return change_for(event("penalty.imposed", data, when=at(day), subject=uscc), MODEL)


def inspection(uscc: str, day: int, result: str) -> Change:
    ev = event("inspection.completed", {"result": result}, when=at(day), subject=uscc)
    return change_for(ev, MODEL)


def complaint(uscc: str, day: int) -> Change:
    data = {"channel": "letter", "category": "price"}
    return change_for(event("complaint.received", data, when=at(day), subject=uscc), MODEL)


def classes(fired: tuple[Fired, ...]) -> list[tuple[str, int, int, int]]:
    return [(f.uscc, f.outcome.old_class, f.outcome.new_class, f.outcome.asof) for f in fired]


def test_an_event_past_a_due_moment_makes_the_change_first_as_of_that_moment() -> None:
    part = Partition()
    outcome, fired = part.apply(X, penalty(X, 0), P)
    assert (outcome.new_class, fired) == (2, ())
    due = outcome.due
    assert due > t(0)
    # An event of another enterprise, dated just before the penalty has faded: nothing yet.
    before = t(0) + (due - t(0)) - 3_600
    assert part.apply(Y, replace(complaint(Y, 0), asof=before), P)[1] == ()
    _, fired = part.apply(Y, complaint(Y, 400), P)
    assert classes(fired) == [(X, 2, 1, due)]
    assert part.states[X].klass == 1 and part.states[X].asof == due
    assert part.watermark == t(400)


def test_changes_fire_in_order_of_due_moment_then_uscc() -> None:
    part = Partition()
    # X and Z the same penalty on the same day (due together); Y the same five days earlier.
    due_x = part.apply(X, penalty(X, 10), P)[0].due
    due_z = part.apply(Z, penalty(Z, 10), P)[0].due
    due_y = part.apply(Y, penalty(Y, 5), P)[0].due
    assert due_x == due_z and due_y < due_x
    _, fired = part.apply(Z, complaint(Z, 700), P)
    assert [(f.uscc, f.outcome.asof) for f in fired] == [(Y, due_y), (X, due_x), (Z, due_z)]


def test_a_chain_of_changes_of_one_enterprise_fires_in_order() -> None:
    # A clean inspection (-8 until day 730), then on day 100 one that found problems (+15
    # until day 830) and an ordinary penalty (+10, fading): B; once the penalty has faded,
    # A; when the credit ends, B; when the problems found stop counting, A.
    part = Partition()
    part.apply(X, inspection(X, 0, "no_problem"), P)
    part.apply(X, inspection(X, 100, "problems_found"), P)
    outcome, _ = part.apply(X, penalty(X, 100, "ordinary"), P)
    assert outcome.new_class == 2
    _, fired = part.apply(Y, complaint(Y, 1_000), P)
    assert [(c[1], c[2]) for c in classes(fired)] == [(2, 1), (1, 2), (2, 1)]
    asofs = [f.outcome.asof for f in fired]
    assert asofs == sorted(asofs) and t(100) < asofs[0] < t(730) <= asofs[1] < asofs[2]
    assert asofs[1] == t(0) + 730 * DAY  # the moment the credit ends
    assert part.states[X].due == 0


def test_lateness_holds_a_change_back_until_the_watermark_passes_it_by_that_much() -> None:
    late = replace(P, lateness=10 * DAY)
    part = Partition()
    due = part.apply(X, penalty(X, 0), late)[0].due
    assert part.apply(Y, replace(complaint(Y, 0), asof=due + 10 * DAY - 1), late)[1] == ()
    _, fired = part.apply(Y, replace(complaint(Y, 1), asof=due + 10 * DAY), late)
    assert classes(fired) == [(X, 2, 1, due)]


def test_an_event_of_the_due_enterprise_itself_comes_after_its_change() -> None:
    part = Partition()
    due = part.apply(X, penalty(X, 0), P)[0].due
    outcome, fired = part.apply(X, penalty(X, 500, "serious", "D2"), P)
    assert classes(fired) == [(X, 2, 1, due)]
    assert (outcome.old_class, outcome.asof) == (1, t(500))
    assert outcome.new_class == 2


def test_a_late_event_scores_by_its_own_time_and_fires_nothing() -> None:
    part = Partition()
    part.apply(X, complaint(X, 900), P)
    listed = change_for(
        event(
            "abnormal_list.added",
            {"decision_number": "N1", "reason": "false_information"},
            when=at(50),
            subject=Y,
        ),
        MODEL,
    )
    outcome, fired = part.apply(Y, listed, P)
    assert fired == ()
    assert outcome == apply(EnterpriseState(), listed, P)[1]
    assert (outcome.new_class, outcome.asof) == (3, t(50)) and part.watermark == t(900)


def test_a_late_event_whose_own_change_is_already_due_makes_it_at_once() -> None:
    # The watermark is at day 900; a serious penalty of day 0 has faded by then: the event
    # scores at day 0 (B), and its own change back to A is made right after, as of its due
    # moment (still before the watermark).
    part = Partition()
    part.apply(X, complaint(X, 900), P)
    outcome, fired = part.apply(Y, penalty(Y, 0), P)
    assert (outcome.new_class, outcome.asof) == (2, t(0))
    assert classes(fired) == [(Y, 2, 1, outcome.due)]


def test_a_reevaluation_of_an_unknown_enterprise_keeps_nothing_but_raises_the_watermark() -> None:
    part = Partition()
    outcome, fired = part.apply(X, Change(event_hash="00" * 8, asof=t(3)), P)
    assert (outcome, fired) == (Outcome(0, 0, 0, 0, 0), ())
    assert part.states == {} and part.watermark == t(3)


def _interleaved(histories_: list[list[CreditEvent]], rnd) -> list[tuple[str, Change]]:
    log = [
        (uscc, change_for(replace_subject(e, uscc), MODEL))
        for h, uscc in zip(histories_, (X, Y, Z), strict=False)
        for e in h
    ]
    rnd.shuffle(log)
    return log


def replace_subject(e: CreditEvent, uscc: str) -> CreditEvent:
    data = e.data.model_dump(mode="json")
    return event(e.type, data, when=e.time, subject=uscc, eid=f"{uscc}/{e.id}")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(histories(), min_size=1, max_size=3),
    st.randoms(use_true_random=False),
    st.sampled_from([0, 30 * DAY]),
)
def test_the_same_log_gives_the_same_changes_every_time(histories_, rnd, lateness) -> None:
    p = replace(P, lateness=lateness)
    log = _interleaved(histories_, rnd)
    runs = []
    for _ in range(2):
        part = Partition()
        runs.append(([part.apply(u, ch, p) for u, ch in log], part.states, part.watermark))
    assert runs[0] == runs[1]
    results, states, watermark = runs[0]
    assert watermark == max(ch.asof for _, ch in log)
    # Every change fired was due, as of its due moment, by the watermark of its event.
    for _, fired in results:
        for f in fired:
            assert f.outcome.asof <= watermark - lateness
    # Nothing left due by the final watermark: each change was made by some event.
    assert all(s.due == 0 or s.due > watermark - lateness for s in states.values())
