"""``riskmon judge``: how well the classes under a prefix rank a synthetic district's hidden
truth (the propensities ``riskmon generate --truth`` wrote)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from cli import runfile
from cli.arguments import TIME_FORMAT, Subparsers, aware_time
from cli.errors import CommandError
from scoring.model import load_model
from streams.connections import redis_options
from streams.settings import Settings

if TYPE_CHECKING:
    from jobs.judge import Verdict

__all__ = ["add", "render", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "judge",
        help="how well the classes under a prefix rank a synthetic district's hidden truth",
        description="Evaluate every enterprise under the prefix at one moment and judge the"
        " classes against the propensities riskmon generate --truth wrote: per class, the mean"
        " propensity and the share of the riskiest enterprises; the recall of C+D; AUC and"
        " Spearman's rank correlation. Reads the Redis of RISKMON_REDIS_URL, else that of a"
        " running riskmon run.",
    )
    p.add_argument("--truth", type=Path, required=True, help="CSV of riskmon generate --truth")
    p.add_argument("--prefix", help="Redis key prefix (default: RISKMON_REDIS_PREFIX)")
    p.add_argument(
        "--model", type=Path, help="thresholds and caps to judge by (default: RISKMON_MODEL_PATH)"
    )
    p.add_argument(
        "--riskiest",
        type=float,
        default=0.1,
        help="fraction of enterprises, by propensity, that counts as the riskiest (default 0.1)",
    )
    p.add_argument(
        "--asof",
        type=aware_time,
        help=f"evaluate every class at this time, {TIME_FORMAT} (default: the newest as-of"
        " time under the prefix)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(handler=run)


def render(v: Verdict) -> str:
    """A judgement as a table for a terminal."""
    j = v.judgement
    when = dt.datetime.fromtimestamp(v.asof, dt.UTC).isoformat()
    lines = [
        f"prefix {v.prefix!r}, model {v.model}, classes as of {when}",
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
    if v.unmatched:
        lines.append(f"{v.unmatched:,} enterprise(s) under the prefix are not in the truth file")
    return "\n".join(lines)


def as_json(v: Verdict) -> str:
    doc = {**asdict(v.judgement), "prefix": v.prefix, "asof": v.asof, "model": v.model}
    return json.dumps({**doc, "unmatched": v.unmatched}, indent=2)


def run(args: argparse.Namespace, s: Settings) -> int:
    import redis

    from jobs.judge import judge_prefix, read_truth

    redis_url = runfile.redis_url(s)
    prefix: str = args.prefix or s.redis_prefix
    model = load_model(args.model or s.model_path)
    try:
        truth = read_truth(args.truth)
    except OSError as exc:
        raise CommandError(f"cannot read {args.truth}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    try:
        verdict = judge_prefix(
            redis_url=redis_url,
            prefix=prefix,
            truth=truth,
            model=model,
            partitions=s.partitions,
            riskiest=args.riskiest,
            asof=int(args.asof.timestamp()) if args.asof else None,
            redis_options=redis_options(s),
        )
    except redis.RedisError as exc:
        raise CommandError(f"{type(exc).__name__}: {exc}", status=1) from None
    except ValueError as exc:
        raise CommandError(f"prefix {prefix!r}: {exc}", status=1) from None
    print(as_json(verdict) if args.json else render(verdict))
    return 0
