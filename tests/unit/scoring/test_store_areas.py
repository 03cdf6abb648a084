"""The pure side of scoring/store/areas.py: where an enterprise counts, the recount, the days
(UTC+8), and the rows the API shows."""

from __future__ import annotations

import datetime as dt

import pytest

from scoring.changes import Profile
from scoring.fold import EnterpriseState
from scoring.store.areas import AreaSnapshot, area_pair, areas_of, day_of, day_start, recount, rows


def _profile(division: str, industry: str) -> Profile:
    return Profile(division, industry, False, "company", 0, 0)


@pytest.mark.parametrize(
    ("profile", "pair", "areas"),
    [
        (
            _profile("610112", "F5191"),
            ("610112", "F51"),
            (("division", "610112"), ("industry", "F51"), ("industry", "F")),
        ),
        (
            _profile("610112", "C13"),
            ("610112", "C13"),
            (("division", "610112"), ("industry", "C13"), ("industry", "C")),
        ),
        (_profile("610112", "H"), ("610112", "H"), (("division", "610112"), ("industry", "H"))),
        (
            _profile("", ""),
            ("unknown", "unknown"),
            (("division", "unknown"), ("industry", "unknown")),
        ),
        (None, ("unknown", "unknown"), (("division", "unknown"), ("industry", "unknown"))),
    ],
)
def test_an_enterprise_counts_in_its_division_industry_and_section(
    profile: Profile | None, pair: tuple[str, str], areas: tuple[tuple[str, str], ...]
) -> None:
    assert area_pair(profile) == pair
    assert areas_of(*pair) == areas


def _state(klass: int, profile: Profile | None) -> EnterpriseState:
    return EnterpriseState(contributions={}, asof=0, klass=klass, score=0, due=0, profile=profile)


def test_the_recount_counts_pairs_and_indexes_c_and_d_by_division() -> None:
    counts, members = recount(
        [
            ("u1", _state(4, _profile("610112", "F5191"))),
            ("u2", _state(3, _profile("610112", "F5212"))),
            ("u3", _state(1, _profile("610112", "F5191"))),
            ("u4", _state(3, None)),
        ]
    )
    assert counts == {
        "610112|F51|D": 1,
        "610112|F52|C": 1,
        "610112|F51|A": 1,
        "unknown|unknown|C": 1,
    }
    assert members == {"610112|u1|D", "610112|u2|C", "unknown|u4|C"}


def test_a_day_is_a_calendar_day_in_china() -> None:
    china = dt.timezone(dt.timedelta(hours=8))
    midnight = int(dt.datetime(2026, 3, 2, tzinfo=china).timestamp())
    assert day_of(midnight) == day_of(midnight - 1) + 1
    assert day_start(day_of(midnight)) == midnight
    assert day_of(midnight + 86_399) == day_of(midnight)


def test_rows_give_share_entries_and_trend() -> None:
    # 8 trailing weeks with 16 D entries (a mean of 2 a week), then 5 in the last 7 days
    daily = (*(2 if i % 7 == 0 else 0 for i in range(56)), 1, 0, 0, 2, 0, 0, 2)
    snap = AreaSnapshot(
        day=20_000,
        asof=0,
        days=63,
        enterprises={("division", "610112"): {"A": 6, "C": 3, "D": 1}, ("industry", "F"): {"B": 2}},
        c_daily={("division", "610112"): (0,) * 62 + (3,)},
        d_daily={("division", "610112"): daily},
    )
    (row,) = rows(snap, "division")
    assert (row.code, row.enterprises, row.cd_share) == ("610112", 10, 0.4)
    assert dict(row.by_class) == {"A": 6, "B": 0, "C": 3, "D": 1}
    assert (row.d_entries_7d, row.c_entries_7d, row.d_weekly_mean, row.trend) == (5, 3, 2.0, 3.0)
    assert [r.code for r in rows(snap, "industry")] == ["F"]
    assert snap.district() == {"A": 6, "B": 0, "C": 3, "D": 1}
