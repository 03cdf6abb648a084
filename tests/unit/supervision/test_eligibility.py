"""Who a routine draw may pick: not those in observation, not those the frequency limit or
the recent-inspection window rules out, and only those in scope."""

from __future__ import annotations

from supervision.eligibility import DAY, Listing, eligible
from supervision.preset import load_preset
from supervision.scope import Scope, parse_scope

ASOF = 1_780_000_000
U = ["91610112MA6TGQ1K2M", "91610112MA6TGQ1K3K", "91610112MA6TGQ1K4F", "91610112MA6TGQ1K5A"]


def test_each_exclusion_is_counted_under_its_reason() -> None:
    henan = load_preset("henan-2021")  # 180 days; A at most once a year, C twice
    directory = [
        Listing(U[0], "A", "610112", "H6210", "enterprise", observation_active=True),
        Listing(U[1], "A", "610112", "H6210", "enterprise", inspections=(ASOF - 200 * DAY,)),
        Listing(U[2], "C", "610112", "H6210", "enterprise", inspections=(ASOF - 100 * DAY,)),
        Listing(U[3], "C", "610113", "C1311", "enterprise", inspections=(ASOF - 200 * DAY,)),
    ]
    snapshot, excluded = eligible(directory, henan, Scope(), ASOF)
    # U1: once in the year, A's limit; U2: C may have two, but 100 days is recent
    assert [e.uscc for e in snapshot] == [U[3]]
    assert excluded == {"scope": 0, "observation": 1, "frequency": 1, "recent": 1}
    _, excluded = eligible(directory, henan, parse_scope(["division=610113"]), ASOF)
    assert excluded["scope"] == 3


def test_an_inspection_after_the_plans_time_does_not_count() -> None:
    henan = load_preset("henan-2021")
    later = Listing(U[0], "A", inspections=(ASOF + DAY,))
    assert len(eligible([later], henan, Scope(), ASOF)[0]) == 1


def test_new_economy_presets_draw_only_new_economy_firms() -> None:
    bayannur = load_preset("bayannur-2022")
    firms = [Listing(U[0], "C", new_economy=True), Listing(U[1], "C", new_economy=False)]
    snapshot, excluded = eligible(firms, bayannur, Scope(), ASOF)
    assert [e.uscc for e in snapshot] == [U[0]] and excluded["scope"] == 1


def test_avoidance_joins_previous_inspectors_and_declared_conflicts() -> None:
    firm = Listing(U[0], "D", last_inspectors=("I2", "I1"))
    snapshot, _ = eligible(
        [firm], load_preset("henan-2021"), Scope(), ASOF, {U[0]: frozenset({"I9"})}
    )
    assert snapshot[0].avoid == ("I1", "I2", "I9")
