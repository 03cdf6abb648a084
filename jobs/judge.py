"""``riskmon judge``: how well the classes under a Redis prefix rank a district's hidden truth.

Reads every enterprise's state under the prefix (a page at a time; Redis is never blocked),
evaluates its class at one moment for all (by default the newest as-of time among them: a
replayed district's states stand at each enterprise's last event, and time alone moves classes
after it), and judges those classes against the propensities of ``riskmon generate --truth``
(:mod:`scoring.judge`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import redis

from scoring.fold import Params, class_at
from scoring.judge import Judgement, judge
from scoring.model import ScoringModel
from scoring.store import Keys, iter_states, newest_asof

__all__ = ["classes_at", "cmd_judge", "read_truth", "render"]


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


def _pairs(classes: dict[str, int], truth: dict[str, float]) -> Iterator[tuple[int, float]]:
    for uscc, klass in classes.items():
        if uscc in truth:
            yield klass, truth[uscc]


def render(j: Judgement, *, prefix: str, asof: int, model: str, unmatched: int) -> str:
    when = dt.datetime.fromtimestamp(asof, dt.UTC).isoformat()
    lines = [
        f"prefix {prefix!r}, model {model}, classes as of {when}",
        f"{j.enterprises:,} enterprises; the riskiest {j.riskiest:,} have propensity >="
        f" {j.cutoff:.3f}",
        "",
        "class  enterprises  mean propensity  share of the riskiest",
    ]
    for r in j.rows:
        lines.append(
            f"{r.name:5}  {r.enterprises:11,}  {r.mean_propensity:15.3f}  {r.riskiest_share:21.1%}"
        )
    lines += [
        "",
        f"recall of C+D (the riskiest that C and D hold): {j.recall_cd:.1%}",
        f"AUC (a riskiest one in a higher class than another; 0.5 is chance): {j.auc:.3f}",
        f"Spearman (class, propensity): {j.spearman:.3f}",
    ]
    if unmatched:
        lines.append(f"{unmatched:,} enterprise(s) under the prefix are not in the truth file")
    return "\n".join(lines)


def cmd_judge(
    *,
    redis_url: str | None,
    prefix: str,
    truth: Path,
    model: ScoringModel,
    partitions: int,
    riskiest: float,
    asof: int | None,
    as_json: bool,
) -> int:
    """The ``riskmon judge`` command; returns the exit status."""
    if not redis_url:
        print("no Redis: set RISKMON_REDIS_URL or start `riskmon run`", file=sys.stderr)
        return 2
    try:
        hidden = read_truth(truth)
    except (OSError, ValueError) as exc:
        print(f"riskmon judge: {exc}", file=sys.stderr)
        return 2
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    try:
        classes, when = classes_at(client, prefix, partitions, model, asof)
    except redis.RedisError as exc:
        print(f"riskmon judge: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    unmatched = sum(1 for uscc in classes if uscc not in hidden)
    try:
        j = judge(_pairs(classes, hidden), riskiest)
    except ValueError as exc:
        print(f"riskmon judge: prefix {prefix!r}: {exc}", file=sys.stderr)
        return 1
    if as_json:
        doc = {**asdict(j), "prefix": prefix, "asof": when, "model": model.version}
        print(json.dumps({**doc, "unmatched": unmatched}, indent=2))
    else:
        print(render(j, prefix=prefix, asof=when, model=model.version, unmatched=unmatched))
    return 0
