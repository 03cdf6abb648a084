"""``riskmon run``: the worker, on embedded Kafka and Redis unless configured."""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
from pathlib import Path

from cli import runfile
from cli.arguments import Subparsers
from cli.errors import CommandError
from scoring.model import load_model
from streams.settings import Settings

__all__ = ["add", "log_level", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "run",
        help="run the worker; embedded Kafka and Redis unless configured",
        description="Run the worker: it reads the events topic, keeps every enterprise's class"
        " in Redis, publishes alerts and tasks, and serves the API. Without"
        " RISKMON_KAFKA_BOOTSTRAP and RISKMON_REDIS_URL it starts its own broker and Redis."
        " Ctrl-C stops it and them. Log lines of the libraries below warnings show with"
        " RISKMON_LOG_LEVEL=info.",
    )
    p.add_argument("--web-port", type=int, help="API port (RISKMON_WEB_PORT, default 6066)")
    p.set_defaults(handler=run)


def log_level(settings: Settings) -> str:
    """The worker's log level: RISKMON_LOG_LEVEL if it is set, else warn. At info, Faust logs
    every service of the worker starting and stopping (some thirty lines after the summary);
    riskmon's own worker logs nothing at info that an operator needs."""
    return settings.log_level if "log_level" in settings.model_fields_set else "warn"


def _local_token(
    s: Settings, path: Path, redis_url: str, stack: contextlib.ExitStack
) -> tuple[str | None, str | None]:
    # The local user's admin token, for the run file; revoked when the run stops, and a dead
    # run's (kill -9) when the next run on its port starts.
    from cli.token import issue_local, revoke_local

    if not s.local_token:
        return None, None
    dead = runfile.read(path)
    if dead is not None and not dead.alive and dead.token_id:
        with contextlib.suppress(CommandError):  # another Redis's, or already gone
            revoke_local(s, redis_url, dead.token_id)
    try:
        token, record = issue_local(s, redis_url)
    except CommandError as exc:
        raise CommandError(f"cannot make the local admin token: {exc}", status=1) from exc
    stack.callback(_revoke_quietly, s, redis_url, record.token_id)
    return token, record.token_id


def _revoke_quietly(s: Settings, redis_url: str, token_id: str) -> None:
    from cli.token import revoke_local

    with contextlib.suppress(CommandError):
        revoke_local(s, redis_url, token_id)


def run(args: argparse.Namespace, s: Settings) -> int:
    import faust

    from local.embedded import EmbeddedError, EmbeddedKafka, EmbeddedRedis
    from streams.app import build
    from streams.connections import kafka_python_config
    from streams.event_loop import install
    from streams.topics import TopicError, ensure_topics, topic_specs

    model = load_model(s.model_path)
    path = runfile.claim(s)  # before any server starts: a second run on this port stops here
    loop = install(s.event_loop)  # before build(): nothing may have made a loop yet
    # Faust fetches in a thread of its own; it waits for the GIL while the loop plans a batch.
    # Python's 5 ms is the default: since the consumer hands a whole fetch over at once, a
    # shorter interval only adds switches (see the README, under Measured).
    sys.setswitchinterval(s.gil_switch_seconds)
    with contextlib.ExitStack() as stack:
        try:
            bootstrap = s.kafka_bootstrap
            if bootstrap is None:
                bootstrap = stack.enter_context(EmbeddedKafka()).bootstrap
            redis_url = s.redis_url
            if redis_url is None:
                redis_url = stack.enter_context(EmbeddedRedis()).url
            ensure_topics(bootstrap, topic_specs(s), client_config=kafka_python_config(s))
        except (EmbeddedError, TopicError) as exc:
            raise CommandError(str(exc), status=1) from exc
        rt = build(s, bootstrap=bootstrap, redis_url=redis_url, model=model)
        token, token_id = _local_token(s, path, redis_url, stack)
        scheme = "https" if s.web_tls_certfile else "http"
        web = f"{scheme}://{s.web_host}:{s.web_port}"
        where = {
            "kafka": bootstrap + ("  (embedded Tansu)" if s.kafka_bootstrap is None else ""),
            "redis": redis_url + ("  (embedded)" if s.redis_url is None else ""),
            "api": web + "/enterprises/{uscc}   " + web + "/metrics",
            "topics": f"{s.events_topic} -> {s.alerts_topic}, {s.tasks_topic}, {s.dlq_topic}",
            "model": model.version,
            "loop": loop,
            "run file": str(path) + ("  (holds the local admin token)" if token else ""),
        }
        print("riskmon is starting:", flush=True)
        for k, v in where.items():
            print(f"  {k:8} {v}", flush=True)
        print("  send events with: riskmon send examples/story.jsonl", flush=True)
        print("  watch alerts with: riskmon alerts --follow   (Ctrl-C stops)", flush=True)
        runfile.write(
            path, kafka=bootstrap, redis=redis_url, web=web, token=token, token_id=token_id
        )
        stack.callback(runfile.release, path)
        worker = faust.Worker(rt.app, loglevel=log_level(s), quiet=True)
        # What is alive now (modules, the model, the app) lives as long as the process: out
        # of the collector's sight, a full collection no longer walks it.
        gc.collect()
        gc.freeze()
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0
