"""How well a model's classes rank enterprises by a hidden truth (pure).

The synthetic district (``district/``) gives every enterprise a propensity to violate that no
event carries. A model is good to the extent that its classes put the enterprises most prone
to violate in C and D, where inspections go: that is what :func:`judge` measures.

* per class: enterprises, their mean propensity, and their share of the riskiest
  (the ``riskiest`` fraction of enterprises by propensity, 10% by default);
* recall of C+D: the share of the riskiest that C and D hold (inspections there reach them);
* AUC: the probability that one of the riskiest has a higher class than one of the rest
  (ties count half): 0.5 is chance, 1 a perfect ranking;
* Spearman's rank correlation of class and propensity (average ranks for ties).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas.classes import ClassName, class_name

__all__ = ["ClassRow", "Judgement", "judge", "ranks", "spearman"]


@dataclass(frozen=True, slots=True)
class ClassRow:
    name: ClassName
    enterprises: int
    mean_propensity: float
    #: share of all the riskiest enterprises that are in this class
    riskiest_share: float


@dataclass(frozen=True, slots=True)
class Judgement:
    rows: tuple[ClassRow, ...]
    enterprises: int
    riskiest: int
    #: propensity at and above which an enterprise counts among the riskiest
    cutoff: float
    recall_cd: float
    auc: float
    spearman: float


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values``, ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean = (i + j) / 2 + 1
        for k in range(i, j + 1):
            out[order[k]] = mean
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation; 0.0 when either side is constant."""
    rx, ry = ranks(x), ranks(y)
    n = len(rx)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx and vy else 0.0


def judge(pairs: Iterable[tuple[int, float]], riskiest: float = 0.1) -> Judgement:
    """Judge (class 1..4, propensity) pairs, one per enterprise. Raises ValueError if there
    are none or ``riskiest`` is not in (0, 1)."""
    if not 0 < riskiest < 1:
        raise ValueError(f"riskiest must be a fraction in (0, 1), got {riskiest}")
    classes, props = [], []
    for klass, p in pairs:
        if not 1 <= klass <= 4:
            raise ValueError(f"class {klass} is not 1..4")
        classes.append(klass)
        props.append(p)
    n = len(classes)
    if n == 0:
        raise ValueError("no enterprise to judge")
    top = max(1, round(n * riskiest))
    cutoff = sorted(props, reverse=True)[top - 1]
    is_top = [p >= cutoff for p in props]
    top = sum(is_top)  # ties at the cutoff all count
    pos, neg = [0] * 5, [0] * 5
    sums = [0.0] * 5
    for k, p, t in zip(classes, props, is_top, strict=True):
        (pos if t else neg)[k] += 1
        sums[k] += p
    rows = tuple(
        ClassRow(
            name=class_name(k),
            enterprises=pos[k] + neg[k],
            mean_propensity=sums[k] / (pos[k] + neg[k]) if pos[k] + neg[k] else 0.0,
            riskiest_share=pos[k] / top,
        )
        for k in range(1, 5)
    )
    rest = n - top
    # Mann-Whitney over four ordered classes: pairs (riskiest, other) where the riskiest one
    # is in a higher class, plus half the pairs in the same class.
    wins, below = 0.0, 0
    for k in range(1, 5):
        wins += pos[k] * (below + neg[k] / 2)
        below += neg[k]
    auc = wins / (top * rest) if rest else 0.5
    return Judgement(
        rows=rows,
        enterprises=n,
        riskiest=top,
        cutoff=cutoff,
        recall_cd=(pos[3] + pos[4]) / top,
        auc=auc,
        spearman=spearman(classes, props),
    )
