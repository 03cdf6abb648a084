"""The ``riskmon`` command: its parser and the dispatch to one module per command.

A command is a module of this package with ``add(sub)``, which adds its subparser and sets
``handler`` to its ``run(args, settings)``; listing it in :data:`COMMANDS` is all that wires it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from alerts.warnings import WarningsError
from alerts.webhooks_config import WebhooksConfigError
from cli import (
    alerts,
    audit,
    bench,
    console,
    demo,
    generate,
    judge,
    lookup,
    plan,
    reclassify,
    replay,
    run,
    schemas,
    send,
    tasks,
    token,
)
from cli.errors import CommandError
from scoring.exceptions import ModelError
from streams.settings import ConfigError, load_settings

__all__ = ["COMMANDS", "main", "parser"]

#: Every command, in the order ``riskmon --help`` lists them.
COMMANDS = (
    run,
    send,
    lookup,
    tasks,
    alerts,
    console,
    plan,
    schemas,
    generate,
    demo,
    replay,
    reclassify,
    judge,
    token,
    audit,
    bench,
)

DESCRIPTION = (
    "riskmon: an event-driven monitor of enterprise credit risk. Run the worker (embedded Kafka"
    " and Redis by default), send it events, look up an enterprise's class and why, and watch"
    " the alerts it publishes."
)


def parser() -> argparse.ArgumentParser:
    """The ``riskmon`` argument parser, with every command's subparser."""
    p = argparse.ArgumentParser(prog="riskmon", description=DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args, extra = p.parse_known_args(argv)
    passthrough = getattr(args, "passthrough", None)
    if passthrough is not None:  # riskmon bench: its own parser, no settings
        return int(passthrough([*extra, *args.bench_args]))
    if extra:
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("kafka", "aiokafka"):  # their INFO is connection chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        overrides = {"web_port": args.web_port} if getattr(args, "web_port", None) else {}
        settings = load_settings(**overrides)
        return int(args.handler(args, settings))
    except CommandError as exc:
        print(f"riskmon {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except (ConfigError, ModelError, WarningsError, WebhooksConfigError) as exc:
        print(f"riskmon: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`riskmon alerts | head`): stop quietly, as Unix tools do, and
        # keep the interpreter from failing again when it flushes standard output at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
