"""``riskmon plan``: draw, verify and list class-differentiated spot-check plans (双随机一公开).

The draw itself is ``supervision/draw.py`` (documented step by step so anyone can redo it);
this module parses arguments, calls ``jobs/plans.py`` and prints.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cli import runfile
from cli.arguments import Subparsers
from cli.audited import record
from cli.errors import CommandError, unlogged
from schemas.classes import CLASSES
from streams.connections import kafka_python_config, redis_options
from streams.redis_client import connect
from streams.settings import Settings

__all__ = [
    "add",
    "render_draw",
    "render_list",
    "run_draw",
    "run_list",
    "run_publish",
    "run_verify",
]


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _per_task(text: str) -> int:
    n = _seed(text)
    if not 1 <= n <= 10:
        raise argparse.ArgumentTypeError(f"{text}: inspectors per task must be 1-10")
    return n


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "plan",
        help="draw, verify and list class-differentiated spot-check plans",
        description="Class-differentiated random spot-check plans (双随机一公开): draw one from"
        " the live store with a preset's ratio per class, verify a plan file by re-drawing it,"
        " list the plans drawn. Redis and Kafka: RISKMON_REDIS_URL / RISKMON_KAFKA_BOOTSTRAP,"
        " else those of a running riskmon run.",
    )
    plan_sub = p.add_subparsers(
        dest="plan_command", required=True, metavar="{draw,verify,publish,list}"
    )
    d = plan_sub.add_parser(
        "draw",
        help="draw a plan from the live store (and publish its tasks with --publish)",
        description="Draw a plan: each class stratum of the directory at the preset's ratio,"
        " its enterprises by SHA-256 of seed and USCC, inspectors from the pool. Prints the plan"
        " id and a table per class. Every draw is recorded on the plans topic; --publish sends"
        " one riskmon.task.planned per task to the events topic (the worker then sends"
        " riskmon.task.created, trigger random_plan). Publishing twice sends the same ids.",
    )
    d.add_argument("--preset", required=True, metavar="NAME|FILE", help="a preset name or file")
    d.add_argument("--name", required=True, metavar="TEXT", help="the plan's name")
    d.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="division=<GB/T 2260 prefix>, industry=<GB/T 4754 section or division>,"
        " entity_type=<type>, domain=<food|drug|special_equipment|quality>; repeatable",
    )
    d.add_argument(
        "--inspectors",
        required=True,
        type=Path,
        metavar="FILE",
        help="the inspector pool, CSV: id,name,department,qualifications (a;b)",
    )
    d.add_argument(
        "--conflicts",
        type=Path,
        metavar="FILE",
        help="declared avoidance, CSV: inspector_id,uscc (optional)",
    )
    d.add_argument("--seed", required=True, type=_seed, metavar="INT", help="the draw's seed")
    d.add_argument(
        "--per-task", type=_per_task, default=2, metavar="N", help="inspectors per task (2)"
    )
    d.add_argument("--publish", action="store_true", help="send the plan's tasks")
    d.add_argument("--out", type=Path, metavar="PLAN.json", help="write the plan here")
    d.set_defaults(handler=run_draw)
    v = plan_sub.add_parser(
        "verify",
        help="re-draw a plan from its recorded snapshot; exit 1 at the first difference",
        description="Recompute the plan's digests from its recorded snapshot and pool and"
        " re-draw it. Exits 0 if the re-draw is identical, else 1 naming the first difference.",
    )
    v.add_argument("plan", type=Path, metavar="PLAN.json")
    v.set_defaults(handler=run_verify)
    pub = plan_sub.add_parser(
        "publish",
        help="publish a plan file's tasks (again): the same ids as when it was drawn",
        description="Verify a plan file (as plan verify does) and send its tasks to the events"
        " topic, one riskmon.task.planned each, with the ids they had when it was drawn: a"
        " plan published twice sends the same ids, and the worker creates each task once.",
    )
    pub.add_argument("plan", type=Path, metavar="PLAN.json")
    pub.set_defaults(handler=run_publish)
    ls = plan_sub.add_parser("list", help="list the plans drawn (from the plans topic)")
    ls.set_defaults(handler=run_list)


def _percent(ratio: float) -> str:
    return f"{ratio * 100:g} %"


def render_draw(plan: Mapping[str, Any]) -> str:
    """The plan's id and its table per class, as lines for a terminal."""
    scope = ", ".join(f"{k}={'|'.join(v)}" for k, v in plan["scope"].items()) or "all"
    lines = [
        f"plan {plan['plan_id']}  {plan['name']!r}",
        f"  preset {plan['preset']}  seed {plan['seed']}  scope {scope}"
        f"  inspectors per task {plan['per_task']}"
        + (f" (qualified for {plan['domain']})" if plan["domain"] else ""),
        f"  as of {plan['asof']}  model {plan['model_version']}",
        f"  {'class':<5}  {'population':>10}  {'ratio':>7}  {'drawn':>5}",
    ]
    for c in CLASSES:
        s = plan["strata"][c]
        lines.append(f"  {c:<5}  {s['population']:>10}  {_percent(s['ratio']):>7}  {s['drawn']:>5}")
    total = sum(plan["strata"][c]["population"] for c in CLASSES)
    lines.append(f"  {'total':<5}  {total:>10}  {'':>7}  {len(plan['tasks']):>5}")
    excluded = plan.get("excluded") or {}
    if any(excluded.values()):
        lines.append("  not drawn from: " + ", ".join(f"{k} {n}" for k, n in excluded.items()))
    return "\n".join(lines)


def run_draw(args: argparse.Namespace, s: Settings) -> int:
    import redis

    from jobs.plans import draw_live
    from supervision.exceptions import PlanError
    from supervision.inspectors import load_conflicts, load_pool
    from supervision.preset import load_preset
    from supervision.scope import parse_scope

    try:
        preset = load_preset(args.preset)
        scope = parse_scope(args.scope)
        pool = load_pool(args.inspectors)
        conflicts = load_conflicts(args.conflicts, pool) if args.conflicts else {}
    except PlanError as exc:
        raise CommandError(str(exc)) from None
    bootstrap = runfile.bootstrap(s)  # every draw is recorded: no Kafka, no draw
    client = connect(runfile.redis_url(s), socket_timeout=30, **redis_options(s))
    try:
        plan = draw_live(
            client,
            s.redis_prefix,
            s.partitions,
            name=args.name,
            preset=preset,
            scope=scope,
            pool=pool,
            conflicts=conflicts,
            seed=args.seed,
            per_task=args.per_task,
        )
    except PlanError as exc:
        raise CommandError(str(exc)) from None
    except redis.RedisError as exc:
        raise CommandError(f"reading the store: {type(exc).__name__}: {exc}", 1) from None
    finally:
        client.close()
    _audit(s, "plan.publish" if args.publish else "plan.draw", plan)
    print(render_draw(plan), flush=True)
    if args.out:
        try:
            args.out.write_text(json.dumps(plan, ensure_ascii=False, indent=1) + "\n", "utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        print(f"  wrote {args.out}")
    sent = _send(s, plan, bootstrap, published=args.publish)
    if args.publish:
        print(f"  published {sent} task(s) to {s.events_topic}; recorded on {s.plans_topic}")
    else:
        print(f"  not published (--publish sends its tasks); recorded on {s.plans_topic}")
    return 0


def _send(s: Settings, plan: Mapping[str, Any], bootstrap: str, *, published: bool) -> int:
    """Publish the plan's tasks if ``published`` and record the plan; how many tasks were sent.
    Raises :class:`CommandError` (exit 1) naming the broker if Kafka fails part-way."""
    from kafka.errors import KafkaError

    from jobs.plans import publish, record
    from streams.topics import TopicError

    config = kafka_python_config(s)
    sent = 0
    try:
        with unlogged("kafka"):
            if published:
                sent = publish(plan, bootstrap, s.events_topic, config)
            record(plan, bootstrap, s.plans_topic, s.partitions, published=published, config=config)
    except (KafkaError, TopicError) as exc:
        raise CommandError(f"Kafka at {bootstrap}: {exc}", 1) from None
    return sent


def _audit(s: Settings, action: str, plan: Mapping[str, Any]) -> None:
    # Recorded before anything is sent: a plan published is never missing from the audit log.
    details = {k: plan.get(k) for k in ("name", "preset", "seed", "asof")}
    record(
        s,
        runfile.redis_url(s),
        action,
        str(plan["plan_id"]),
        {**details, "tasks": len(plan["tasks"])},
    )


def _verified(path: Path, consequence: str = "") -> dict[str, Any]:
    """The plan file at ``path`` once a re-draw from its snapshot is identical; otherwise a
    :class:`CommandError` (exit 2 if unreadable, 1 naming the first difference)."""
    from jobs.plans import read_plan
    from supervision.exceptions import PlanError
    from supervision.plan import verify

    try:
        plan = read_plan(path)
    except PlanError as exc:
        raise CommandError(str(exc)) from None
    difference = verify(plan)
    if difference is not None:
        raise CommandError(f"{path} does not verify: {difference}{consequence}", 1)
    return plan


def run_verify(args: argparse.Namespace, s: Settings) -> int:
    plan = _verified(args.plan)
    print(
        f"plan {plan['plan_id']} verified: a re-draw from its snapshot"
        f" ({len(plan['snapshot'])} enterprises, directory {plan['directory_digest'][:12]}…,"
        f" inspectors {plan['inspector_digest'][:12]}…) gives the same {len(plan['tasks'])}"
        " task(s)"
    )
    return 0


def run_publish(args: argparse.Namespace, s: Settings) -> int:
    """Exit 1 if the plan does not verify (nothing is sent) or Kafka fails part-way."""
    plan = _verified(args.plan, "; nothing sent")
    bootstrap = runfile.bootstrap(s)
    _audit(s, "plan.publish", plan)
    sent = _send(s, plan, bootstrap, published=True)
    print(
        f"plan {plan['plan_id']}: published {sent} task(s) to {s.events_topic};"
        f" recorded on {s.plans_topic}"
    )
    return 0


def render_list(plans: list[dict[str, Any]]) -> str:
    """One line per plan: when drawn, id, tasks, published, preset, seed, as of, name."""
    lines = []
    for p in plans:
        state = "published" if p.get("published") else "drawn"
        lines.append(
            f"{p.get('drawn_at', '?')}  {p['plan_id']}  {p.get('tasks', 0):>4} task(s)"
            f"  {state:<9}  {p.get('preset', '?')} seed {p.get('seed', '?')}"
            f"  as of {p.get('asof', '?')}  {p.get('name', '')!r}"
        )
    return "\n".join(lines)


def run_list(args: argparse.Namespace, s: Settings) -> int:
    from kafka.errors import KafkaError

    from jobs.plans import list_plans

    bootstrap = runfile.bootstrap(s)
    try:
        with unlogged("kafka"):
            plans = list_plans(bootstrap, s.plans_topic, kafka_python_config(s))
    except KafkaError as exc:
        raise CommandError(f"reading {s.plans_topic} at {bootstrap}: {exc}", 1) from None
    if not plans:
        print(f"no plans on {s.plans_topic} at {bootstrap}")
        return 0
    print(render_list(plans))
    return 0
