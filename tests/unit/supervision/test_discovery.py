"""The discovery rate per class: counts by class at draw, the rate, and the Wilson 95 %
interval checked against Newcombe (1998), Table I, method 3 (score, no continuity correction)."""

from __future__ import annotations

import pytest

from supervision.discovery import discovery, parse_counts, render_table, wilson


@pytest.mark.parametrize(
    ("found", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_the_wilson_interval_matches_published_values(
    found: int, n: int, low: float, high: float
) -> None:
    interval = wilson(found, n)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_the_interval_stays_inside_zero_and_one_and_holds_the_rate() -> None:
    for n in (1, 2, 7, 40):
        for found in range(n + 1):
            interval = wilson(found, n)
            assert interval is not None
            low, high = interval
            assert 0.0 <= low <= found / n <= high <= 1.0


def test_nothing_inspected_has_no_interval_and_impossible_counts_are_refused() -> None:
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="0 <= found <= n"):
        wilson(3, 2)


def test_problems_found_and_corrected_count_as_problems_every_result_as_inspected() -> None:
    counts = parse_counts(
        {
            "A|no_problem": 40,
            "B|no_problem": 29,
            "B|corrected": 12,
            "B|problems_found": 7,
            "B|not_at_address": 2,
            "D|problems_found": 17,
            "D|refused": 1,
            "D|no_problem": 2,
            "garbage": 5,
        }
    )
    rows = {r.klass: r for r in discovery(counts)}
    assert [(k, r.inspected, r.problems_found) for k, r in rows.items()] == [
        ("A", 40, 0),
        ("B", 50, 19),
        ("C", 0, 0),
        ("D", 20, 17),
    ]
    assert rows["B"].rate == pytest.approx(0.38)
    assert rows["D"].rate == pytest.approx(0.85)
    assert rows["A"].rate == 0.0 and rows["A"].wilson_low == 0.0
    assert rows["C"].as_json() == {
        "inspected": 0,
        "problems_found": 0,
        "rate": None,
        "wilson_low": None,
        "wilson_high": None,
    }
    d = rows["D"]
    assert d.wilson_low is not None and d.wilson_high is not None
    assert d.wilson_low < 0.85 < d.wilson_high


def test_the_table_shows_a_row_per_class_with_percentages() -> None:
    text = render_table(discovery({("B", "problems_found"): 1, ("B", "no_problem"): 1}))
    lines = text.splitlines()
    assert lines[0].split() == ["class", "inspected", "problems", "rate", "95", "%", "interval"]
    assert [line.split()[0] for line in lines[1:]] == ["A", "B", "C", "D"]
    assert lines[2].split()[:4] == ["B", "2", "1", "50.0"]
    assert "9.5 % - 90.5 %" in lines[2]
    assert lines[1].split()[1:] == ["0", "0", "-", "-"]
