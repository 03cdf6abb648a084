"""Judge: how well the classes under a Redis prefix rank a district's hidden truth.

Reads every enterprise's state under the prefix (a page at a time; Redis is never blocked),
evaluates its class at one moment for all (by default the newest as-of time among them: a
replayed district's states stand at each enterprise's last event, and time alone moves classes
after it), and judges those classes against the propensities of ``riskmon generate --truth``
(:mod:`scoring.judge`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from scoring.fold import Params, class_at
from scoring.judge import Judgement, judge
from scoring.model import ScoringModel
from scoring.store import Keys, iter_states, newest_asof
from streams.redis_client import connect

__all__ = ["Verdict", "classes_at", "judge_prefix", "read_truth"]


def read_truth(path: Path) -> dict[str, float]:
    """uscc -> propensity, from a ``--truth`` CSV. Raises ValueError naming a bad row."""
    out: dict[str, float] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"uscc", "propensity"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the columns uscc and propensity")
        for line, row in enumerate(reader, start=2):
            try:
                out[row["uscc"]] = float(row["propensity"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{line}: propensity {row['propensity']!r}") from None
    return out


def classes_at(
    client: redis.Redis, prefix: str, partitions: int, model: ScoringModel, asof: int | None
) -> tuple[dict[str, int], int]:
    """uscc -> class of every enterprise under ``prefix``, evaluated at ``asof`` (default:
    the newest as-of time among them, returned too) under ``model``'s thresholds and caps."""
    keys = Keys(prefix)
    if asof is None:  # a pass of its own: the states are not held (a million is gigabytes)
        asof = newest_asof(client, keys, partitions)
    p = Params.of(model)
    out = {}
    for _, uscc, st in iter_states(client, keys, partitions):
        # A state stands at its own as-of time; it never moves back in time.
        out[uscc] = class_at(list(st.contributions.values()), max(asof, st.asof), p)[0]
    return out, asof


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judgement of the classes under ``prefix``, evaluated at ``asof`` (epoch seconds);
    ``unmatched`` enterprises under the prefix are not in the truth."""

    judgement: Judgement
    prefix: str
    asof: int
    model: str
    unmatched: int


def judge_prefix(
    *,
    redis_url: str,
    prefix: str,
    truth: Mapping[str, float],
    model: ScoringModel,
    partitions: int,
    riskiest: float,
    asof: int | None,
    redis_options: Mapping[str, Any] | None = None,
) -> Verdict:
    """Judge the classes under ``prefix`` (at ``asof``, default the newest as-of time among
    them) against ``truth``. Raises redis.RedisError, or ValueError if there is nothing to
    judge (no enterprise under the prefix is in the truth)."""
    client = connect(redis_url, socket_connect_timeout=5, **(redis_options or {}))
    try:
        classes, when = classes_at(client, prefix, partitions, model, asof)
    finally:
        client.close()
    unmatched = sum(1 for uscc in classes if uscc not in truth)
    pairs = ((klass, truth[uscc]) for uscc, klass in classes.items() if uscc in truth)
    return Verdict(judge(pairs, riskiest), prefix, when, model.version, unmatched)
