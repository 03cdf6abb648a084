"""``riskmon console``: the warning centre's web console, a process of its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from cli import runfile
from cli.arguments import Subparsers
from cli.errors import CommandError
from streams.settings import Settings
from streams.topics import TopicError

__all__ = ["add", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "console",
        help="serve the warning centre's web console",
        description="Serve the live console of alerts, warnings and tasks on"
        " RISKMON_WEB_HOST:RISKMON_CONSOLE_PORT (default 127.0.0.1:6067; HTTPS with"
        " RISKMON_WEB_TLS_CERTFILE/KEYFILE). Kafka and Redis: RISKMON_KAFKA_BOOTSTRAP and"
        " RISKMON_REDIS_URL, else those of a running riskmon run. Log in with a token from"
        " riskmon token create (viewer to watch, analyst to acknowledge). Ctrl-C stops it.",
    )
    p.add_argument("--port", type=int, help="port (RISKMON_CONSOLE_PORT, default 6067)")
    p.add_argument(
        "--print-login",
        action="store_true",
        help="also print a login link holding the local admin token of the running riskmon"
        " run (its run file's; for one person's machine only)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, s: Settings) -> int:
    from console.service import serve

    if args.port:
        s = s.model_copy(update={"console_port": args.port})
    bootstrap = runfile.bootstrap(s)
    redis_url = runfile.redis_url(s)
    token = runfile.api_token(s) if args.print_login else None

    def announce(url: str) -> None:
        print(f"riskmon console: {url}", flush=True)
        if token:
            # In the fragment: a browser never sends it to a server, so no log holds it.
            print(f"  log in: {url}login#token={token}", flush=True)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(s, bootstrap, redis_url, announce=announce))
    except TopicError as exc:
        raise CommandError(str(exc)) from exc
    print("riskmon console: stopped", file=sys.stderr, flush=True)
    return 0
