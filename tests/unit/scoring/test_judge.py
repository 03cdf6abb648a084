"""Judging classes against a hidden truth: the figures mean what `riskmon judge` says."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.judge import judge, ranks, spearman


def test_a_model_that_puts_exactly_the_riskiest_in_d_is_perfect() -> None:
    pairs = [(4 if p >= 0.9 else 1, p) for p in (i / 100 for i in range(100))]
    j = judge(pairs, riskiest=0.1)
    assert j.riskiest == 10 and j.cutoff == pytest.approx(0.9)
    assert j.auc == 1.0
    assert j.recall_cd == 1.0
    assert [r.riskiest_share for r in j.rows] == [0.0, 0.0, 0.0, 1.0]
    assert j.rows[3].mean_propensity == pytest.approx(0.945)


def test_a_model_that_ranks_backwards_scores_zero_and_one_that_cannot_tell_scores_half() -> None:
    props = [i / 100 for i in range(100)]
    backwards = judge([(1 if p >= 0.9 else 4, p) for p in props])
    assert backwards.auc == 0.0 and backwards.recall_cd == 0.0 and backwards.spearman < 0
    blind = judge([(2, p) for p in props])
    assert blind.auc == 0.5 and blind.spearman == 0.0
    assert [r.enterprises for r in blind.rows] == [0, 100, 0, 0]


@given(
    st.lists(st.tuples(st.integers(1, 4), st.sampled_from([0.0, 0.1, 0.2, 0.5, 0.9])), min_size=2)
)
def test_auc_is_the_share_of_riskiest_other_pairs_ranked_right(pairs) -> None:
    j = judge(pairs, riskiest=0.3)
    top = [k for k, p in pairs if p >= j.cutoff]
    rest = [k for k, p in pairs if p < j.cutoff]
    assert len(top) == j.riskiest
    if not rest:
        assert j.auc == 0.5
        return
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(top, rest))
    assert j.auc == pytest.approx(wins / (len(top) * len(rest)))
    assert j.recall_cd == pytest.approx(sum(k >= 3 for k in top) / len(top))


def test_ties_share_the_mean_of_their_ranks() -> None:
    assert ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]
    assert spearman([1, 2, 3, 4], [10.0, 20.0, 30.0, 40.0]) == pytest.approx(1.0)
    assert spearman([1, 1, 2, 2], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.894, abs=1e-3)


@pytest.mark.parametrize(
    ("pairs", "riskiest", "message"),
    [
        ([], 0.1, "no enterprise"),
        ([(1, 0.5)], 0.0, "riskiest must be a fraction"),
        ([(1, 0.5)], 1.0, "riskiest must be a fraction"),
        ([(0, 0.5)], 0.1, "class 0 is not 1..4"),
    ],
)
def test_nothing_to_judge_is_an_error_that_says_why(pairs, riskiest, message) -> None:
    with pytest.raises(ValueError, match=message):
        judge(pairs, riskiest)
