"""The draw of a spot-check plan: reproducible, at the preset's ratio per class, with the
inspectors' avoidance respected and a clear failure when the pool is too small."""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.classes import CLASSES
from schemas.uscc import make_uscc
from supervision.draw import draw, stratum_size
from supervision.eligibility import Entry
from supervision.exceptions import DrawError
from supervision.inspectors import parse_pool
from supervision.preset import PRESET_NAMES, load_preset

POOL = parse_pool(
    "id,name,department,qualifications\n"
    + "".join(f"F{k},food {k},food,food;general\n" for k in range(6))
    + "".join(f"G{k},general {k},general,general\n" for k in range(6))
)


def snapshot(n: int, seed: int = 1, mix: str = "AAAABBBBBBCCD") -> list[Entry]:
    rng = random.Random(seed)
    return [Entry(make_uscc(rng), rng.choice(mix)) for _ in range(n)]  # type: ignore[arg-type]


RATIOS = {c: r.ratio for c, r in load_preset("henan-2021").classes.items()}


def test_the_same_seed_and_snapshot_give_the_same_draw_in_any_order() -> None:
    snap = snapshot(800)
    first = draw(snap, RATIOS, POOL, seed=7, per_task=2)
    shuffled = list(reversed(snap))
    assert draw(shuffled, RATIOS, POOL, seed=7, per_task=2) == first
    assert first.tasks  # something was drawn
    other = draw(snap, RATIOS, POOL, seed=8, per_task=2)
    assert {t.uscc for t in other.tasks} != {t.uscc for t in first.tasks}


def test_the_selection_is_the_documented_one_redone_by_hand() -> None:
    # The module's steps, redone here with hashlib alone: stratum by class, n by randomised
    # rounding on SHA-256("<seed>:<class>"), order by SHA-256("<seed>:<uscc>").
    snap, seed = snapshot(600, seed=3), 2026
    got = draw(snap, RATIOS, POOL, seed=seed, per_task=1)
    for klass in CLASSES:
        members = [e.uscc for e in snap if e.klass == klass]
        exact = len(members) * {"A": 1, "B": 2, "C": 10, "D": 30}[klass] / 100
        h = int(hashlib.sha256(f"{seed}:{klass}".encode()).hexdigest()[:16], 16)
        n = math.floor(exact) + (1 if h / 2**64 < exact - math.floor(exact) else 0)
        key = {u: hashlib.sha256(f"{seed}:{u}".encode()).hexdigest() for u in members}
        expected = sorted(members, key=lambda u: key[u])[:n]
        assert sorted(t.uscc for t in got.tasks if t.klass == klass) == sorted(expected)
        assert got.strata[klass].population == len(members)
        assert got.strata[klass].drawn == n


@settings(max_examples=60, deadline=None)
@given(
    population=st.integers(min_value=0, max_value=20_000),
    permille=st.integers(min_value=0, max_value=1000),
)
def test_a_stratum_is_rounded_by_at_most_one_and_exactly_on_average(
    population: int, permille: int
) -> None:
    ratio = permille / 1000
    expected = population * permille / 1000
    seeds = range(300)
    sizes = [stratum_size(population, ratio, s, "B") for s in seeds]
    assert all(math.floor(expected) <= n <= math.ceil(expected) for n in sizes)
    frac = expected - math.floor(expected)
    # The extra one is a Bernoulli(frac) per seed: the mean is within binomial tolerance.
    tolerance = 4.5 * math.sqrt(frac * (1 - frac) / len(seeds)) + 1e-9
    assert abs(sum(sizes) / len(sizes) - expected) <= tolerance


@settings(max_examples=8, deadline=None)
@given(preset=st.sampled_from(PRESET_NAMES), base=st.integers(min_value=0, max_value=10**6))
def test_drawn_shares_per_class_fall_within_binomial_tolerance_across_seeds(
    preset: str, base: int
) -> None:
    ratios = {c: r.ratio for c, r in load_preset(preset).classes.items()}
    snap = snapshot(400, seed=base, mix="AAABBBCCD")
    population = Counter(e.klass for e in snap)
    seeds = range(base, base + 150)
    drawn: Counter[str] = Counter()
    chosen: Counter[str] = Counter()
    for s in seeds:
        d = draw(snap, ratios, POOL, seed=s, per_task=1)
        for t in d.tasks:
            drawn[t.klass] += 1
            chosen[t.uscc] += 1
        for c in CLASSES:  # each draw: the share is the ratio rounded to a whole enterprise
            assert abs(d.strata[c].drawn - population[c] * ratios[c]) < 1
    for c in CLASSES:
        n, r, k = population[c], ratios[c], len(seeds)
        if not n:
            continue
        share = drawn[c] / (n * k)
        assert abs(share - r) <= 4.5 * math.sqrt(r * (1 - r) / (n * k)) + 1 / (n * k)
        # and no enterprise is favoured: each is drawn about r·k times of k
        for e in (e for e in snap if e.klass == c):
            assert abs(chosen[e.uscc] - r * k) <= 5 * math.sqrt(r * (1 - r) * k) + 1


def test_declared_conflicts_and_previous_inspectors_are_avoided() -> None:
    snap = [
        Entry(e.uscc, "D", ("F0", "F1", "F2") if i % 2 else ("F3", "F4"))
        for i, e in enumerate(snapshot(60, seed=5))
    ]
    ratios = dict.fromkeys(CLASSES, 1.0)
    for seed in range(20):
        d = draw(snap, ratios, POOL, seed=seed, per_task=2, domain="food")
        avoid = {e.uscc: set(e.avoid) for e in snap}
        assert len(d.tasks) == 60
        for t in d.tasks:
            assert len(set(t.inspectors)) == 2
            assert not set(t.inspectors) & avoid[t.uscc]
            assert all(i.startswith("F") for i in t.inspectors)  # qualified for food


def test_the_least_loaded_inspectors_go_first() -> None:
    d = draw(snapshot(300), dict.fromkeys(CLASSES, 0.5), POOL, seed=1, per_task=3)
    load = Counter(i for t in d.tasks for i in t.inspectors)
    assert len(load) == len(POOL)
    assert max(load.values()) - min(load.values()) <= 1


def test_a_pool_too_small_fails_naming_the_task() -> None:
    snap = snapshot(50, mix="D")
    with pytest.raises(DrawError, match=r"task T-.* needs 7 inspectors: 6 qualified for food"):
        draw(
            snap,
            dict.fromkeys(CLASSES, 1.0),
            POOL,
            seed=1,
            per_task=7,
            domain="food",
            task_id=lambda u: f"T-{u}",
        )
    # Avoidance can make it too small for one enterprise alone.
    crowded = [Entry(snap[0].uscc, "D", ("F0", "F1", "F2", "F3", "F4"))]
    with pytest.raises(DrawError, match=f"{snap[0].uscc}.*5 of them to avoid.*1 left"):
        draw(crowded, dict.fromkeys(CLASSES, 1.0), POOL, seed=1, per_task=2, domain="food")
