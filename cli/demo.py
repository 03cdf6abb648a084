"""``riskmon demo``: embedded servers, the worker and a live synthetic district, on a dashboard."""

from __future__ import annotations

import argparse

from cli.arguments import Subparsers
from cli.errors import CommandError
from streams.settings import Settings

__all__ = ["add", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "demo",
        help="embedded servers, the worker and a live district",
        description="Start a broker, Redis and the worker, then feed a synthetic district: first"
        " its two years of history as fast as --rate allows, then, once the history is fed,"
        " new events as they happen at the slower --live-rate, as a district would produce"
        " them. A dashboard shows the classes, the riskiest divisions and industries, and the"
        " newest alerts and inspection tasks. Once the history is fed, a spot-check plan is drawn,"
        " published and carried out every --plan-seconds (results drawn from each firm's hidden"
        " propensity), and the dashboard shows the discovery rate per class at draw."
        " Ctrl-C stops everything.",
    )
    p.add_argument("--enterprises", type=int, default=2_000, help="default 2000")
    p.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="events/s of the district's history (default 500)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--live-rate",
        type=float,
        default=20.0,
        help="events/s of the live district once its history is fed (default 20; 0: none)",
    )
    p.add_argument(
        "--plan-seconds",
        type=float,
        default=30.0,
        help="once the history is fed, draw, publish and carry out a spot-check plan this"
        " often (default 30; 0: none)",
    )
    p.add_argument("--seconds", type=float, help="stop by itself after this long")
    p.add_argument("--web-port", type=int, help="API port (RISKMON_WEB_PORT, default 6066)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, s: Settings) -> int:
    from local.demo import cmd_demo
    from streams.topics import TopicError

    try:
        return cmd_demo(
            s,
            enterprises=args.enterprises,
            rate=args.rate,
            seed=args.seed,
            seconds=args.seconds,
            live_rate=args.live_rate,
            plan_seconds=args.plan_seconds,
        )
    except TopicError as exc:  # a configured broker that does not answer
        raise CommandError(str(exc), status=1) from None
