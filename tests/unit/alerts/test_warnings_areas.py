"""The area rules (alerts/warnings/areas.py): each fires on a crafted case and stays silent on
its near miss; the Poisson tail against known values; the messages and their ids."""

from __future__ import annotations

import datetime as dt
import math

import orjson
import pytest

from alerts.warnings import load
from alerts.warnings.areas import Area, cd_share, d_surge, evaluate, poisson_tail
from alerts.warnings.config import CdShare, DSurge
from schemas.alerts import ALERT_INDUSTRY, ALERT_REGION, OutgoingEnvelope

SHARE = CdShare(
    id="division-cd-share",
    kind="cd_share",
    scope="division",
    severity="warning",
    excess_points=10.0,
    min_enterprises=30,
)
SURGE = DSurge(
    id="division-d-surge",
    kind="d_surge",
    scope="division",
    severity="critical",
    min_ratio=2.0,
    alpha=0.01,
    trailing_weeks=8,
)
#: 1000 enterprises, 5 % in C or D
DISTRICT = {"A": 900, "B": 50, "C": 30, "D": 20}


def _direct_tail(k: int, mean: float) -> float:
    """P(X >= k) summed term by term from k on (another method than the one under test)."""
    return math.fsum(
        math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k, k + 2000)
    )


@pytest.mark.parametrize(
    ("k", "mean", "expected"),
    [
        (0, 3.0, 1.0),
        (1, 1.0, 1 - math.exp(-1)),
        (5, 1.0, 1 - math.exp(-1) * (1 + 1 + 1 / 2 + 1 / 6 + 1 / 24)),
        (7, 2.0, 0.004533805526248),  # R: ppois(6, 2, lower.tail = FALSE)
        (6, 2.0, 0.016563608480614),  # R: ppois(5, 2, lower.tail = FALSE)
        (3, 0.0625, 1 - math.exp(-0.0625) * (1 + 0.0625 + 0.0625**2 / 2)),
    ],
)
def test_the_poisson_tail_has_known_values(k: int, mean: float, expected: float) -> None:
    assert poisson_tail(k, mean) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("k", "mean"), [(100, 1.0), (40, 5.5), (30, 29.5), (1000, 1000.0), (990, 1000.0), (2, 1e-6)]
)
def test_the_poisson_tail_matches_the_term_by_term_sum_in_the_far_tail_and_the_middle(
    k: int, mean: float
) -> None:
    assert poisson_tail(k, mean) == pytest.approx(_direct_tail(k, mean), rel=1e-9)


def test_the_poisson_tail_underflows_to_zero_without_error() -> None:
    assert poisson_tail(5000, 1.0) == 0.0


def _share_area(n: int, cd: int, code: str = "610112") -> Area:
    return Area("division", code, {"A": n - cd, "C": cd})


def test_cd_share_fires_on_an_area_ten_points_above_the_district() -> None:
    (fired,) = cd_share(SHARE, [_share_area(30, 5)], DISTRICT)  # 16.7 % vs 5 %
    area, baseline, statistic = fired
    assert area.code == "610112"
    assert baseline["district_cd_share"] == pytest.approx(0.05)
    assert statistic["share_excess_points"] == pytest.approx(100 * 5 / 30 - 5)


@pytest.mark.parametrize(
    "area",
    [
        _share_area(30, 4),  # 13.3 %: 8.3 points above, under 10
        _share_area(29, 10),  # far above, but 29 enterprises, under 30
        _share_area(30, 10, code="unknown"),  # no division to warn about
        Area("industry", "F51", {"A": 20, "D": 10}),  # another scope
    ],
)
def test_cd_share_stays_silent_on_its_near_misses(area: Area) -> None:
    assert cd_share(SHARE, [area], DISTRICT) == []


def _surge_area(per_week: int, last_7d: int, code: str = "610112") -> Area:
    trailing = [per_week if i % 7 == 3 else 0 for i in range(56)]
    return Area("division", code, {"A": 100}, (*trailing, 0, 0, 0, 0, 0, 0, last_7d))


def test_d_surge_fires_on_a_week_far_above_the_trailing_mean() -> None:
    (fired,) = d_surge(SURGE, [_surge_area(2, 7)])
    _, baseline, statistic = fired
    assert baseline["weekly_mean"] == 2.0
    assert statistic["count"] == 7 and statistic["ratio"] == 3.5
    assert statistic["p_value"] == pytest.approx(0.004533805526248, rel=1e-9)


@pytest.mark.parametrize(
    ("area", "rule"),
    [
        (_surge_area(2, 6), SURGE),  # ratio 3, but P(X >= 6; 2) = 0.017 >= 0.01
        (_surge_area(2, 7), SURGE.model_copy(update={"min_ratio": 4.0})),  # unlikely, ratio 3.5
        (_surge_area(0, 1), SURGE),  # a quiet area's single entry
        (_surge_area(2, 7, code="61011"), SURGE),  # not a county-level code
    ],
)
def test_d_surge_stays_silent_on_its_near_misses(area: Area, rule: DSurge) -> None:
    assert d_surge(rule, [area]) == []


def test_d_surge_on_a_quiet_area_uses_the_documented_floor() -> None:
    (fired,) = d_surge(SURGE, [_surge_area(0, 2)])
    _, baseline, statistic = fired
    assert baseline["weekly_mean"] == 0.0
    assert baseline["poisson_mean"] == 0.5 / 8
    assert statistic["p_value"] < 0.01


def test_an_entry_eight_days_back_is_not_in_the_last_seven_days() -> None:
    area = Area("division", "610112", {}, (1, 0, 0, 0, 0, 0, 0, 0))
    assert area.d_entries(0, 6) == 0
    assert area.d_entries(7, 7) == 1


def _decode(value: bytes) -> OutgoingEnvelope:
    return OutgoingEnvelope.model_validate(orjson.loads(value))


def test_evaluate_sends_region_and_industry_warnings_with_ids_of_rule_area_and_day() -> None:
    config = load()  # the shipped file: both rules for both kinds
    areas = [
        _surge_area(2, 7),
        Area("industry", "F51", {"A": 20, "D": 10}, (0,) * 62 + (3,)),
        _share_area(10, 9, code="610113"),  # too few enterprises for cd_share
    ]
    first = evaluate(config, areas, DISTRICT, day=20_600, asof=1_779_800_000)
    fired = {(m.type, _decode(m.value).data.rule) for m in first}  # type: ignore[union-attr]
    assert fired == {
        (ALERT_REGION, "division-d-surge"),
        (ALERT_INDUSTRY, "industry-cd-share"),
        (ALERT_INDUSTRY, "industry-d-surge"),
    }
    (region,) = [m for m in first if m.type == ALERT_REGION]
    env = _decode(region.value)
    assert env.subject == "division:610112" and region.key == b"division:610112"
    window = env.data.window  # type: ignore[union-attr]
    assert window.end - window.start == dt.timedelta(days=7)
    # a later tick of the same day, with more counted, re-sends the same ids; the next day not
    later = [_surge_area(2, 9), *areas[1:]]
    again = evaluate(config, later, DISTRICT, day=20_600, asof=1_779_803_600)
    assert [m.id for m in again] == [m.id for m in first]
    assert not {m.id for m in evaluate(config, later, DISTRICT, day=20_601, asof=0)} & {
        m.id for m in first
    }
