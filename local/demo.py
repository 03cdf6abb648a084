"""``riskmon demo``: a live district on one machine, and a terminal dashboard of it.

Processes: this one holds the embedded broker and Redis (unless configured), a feeder thread
that publishes the synthetic district's history at a paced rate and then its live events (event
time = now) at a slower one, an inspection office thread that draws, publishes and carries out a
spot-check plan every ``plan_seconds`` once the history is fed (``local/inspections.py``), and
the dashboard (``local/dashboard.py``); the worker runs as its own process (``riskmon run``
pointed at the same servers), so nothing here can block the worker's event loop; so does the
warning centre's console (``riskmon console``, ``local/console_process.py``), whose login link
the demo prints, with a supervisor token of its own (revoked when the demo stops).

Ctrl-C (or SIGTERM, or ``--seconds``) stops the feeder, then the worker (SIGINT, SIGKILL after a
grace period), then the servers; nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TextIO

import redis

from district.generator import DistrictSpec
from local.console_process import spawn_console, stop_console, wait_console
from local.dashboard import Dashboard
from local.feed import DistrictFeed, default_now
from local.inspections import InspectionOffice
from local.worker_process import spawn_worker, stop_worker, tail, wait_ready
from schemas.classes import CLASSES
from security.exceptions import SecurityError
from security.roles import Role
from streams.access import token_store
from streams.connections import confluent_config, kafka_python_config, redis_options
from streams.redis_client import connect, connect_async
from streams.settings import Settings

__all__ = ["cmd_demo"]


def _dashboard_token(
    s: Settings,
    redis_url: str,
    stack: contextlib.ExitStack,
    name: str = "demo-dashboard",
    role: Role = Role.ANALYST,
) -> str:
    # The dashboard reads the API as an analyst, with a token of its own (the worker's run
    # file holds the local admin token, for the commands); the console's login link carries
    # one too. Each is revoked when the demo stops.
    async def store_call(work: str, token_id: str = "") -> tuple[str, str]:
        client = connect_async(redis_url, socket_timeout=5, **redis_options(s))
        try:
            store = token_store(s, client)
            if work == "revoke":
                await store.revoke(token_id)
                return "", token_id
            token, record = await store.create(name, role, expires_days=1)
            return token, record.token_id
        finally:
            await client.aclose()

    token, token_id = asyncio.run(store_call("create"))

    def revoke() -> None:
        with contextlib.suppress(SecurityError, redis.RedisError, OSError):
            asyncio.run(store_call("revoke", token_id))

    stack.callback(revoke)
    return token


def _start_console(
    s: Settings,
    env: dict[str, str],
    tmp: Path,
    redis_url: str,
    stack: contextlib.ExitStack,
    out: TextIO,
) -> str:
    """Start ``riskmon console`` beside the worker and print its login link; the link (with
    a supervisor's token of the demo's own, in the URL's fragment: a browser sends it to no
    server, and it is on no command line) is returned for the screen's footer."""
    url = f"http://{s.web_host}:{s.console_port}"
    log = tmp / "console.log"
    console = spawn_console({**env, "RISKMON_CONSOLE_PORT": str(s.console_port)}, log)
    stack.callback(stop_console, console)
    try:
        wait_console(url, console, log, timeout=60)
    except RuntimeError as exc:
        # The district runs on without it (its port taken, say): said, not hidden.
        print(f"  the console did not start (log {log}): {exc}", file=out, flush=True)
        return ""
    token = _dashboard_token(s, redis_url, stack, "demo-console", Role.SUPERVISOR)
    login = f"  console {url}/   log in: {url}/login#token={token}\n"
    print(login, end="", file=out, flush=True)
    return login


class _Stop(Exception):
    """SIGTERM, turned into an exception so the same clean shutdown runs as for Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _draw(out: TextIO, board: Dashboard, seconds: float, tty: bool, footer: str = "") -> None:
    text = board.render(seconds)
    if tty:
        out.write("\x1b[H\x1b[2J" + text + "\n" + footer)
    else:  # a log, not a screen: one status line per refresh
        classes = " ".join(f"{c}={board.classes.get(c, 0)}" for c in CLASSES)
        out.write(
            f"{text.splitlines()[0]}  | {classes}  alerts={board.alert_count}"
            f"  discovery {board.discovery_line()}\n"
        )
    out.flush()


@contextlib.contextmanager
def _servers(settings: Settings) -> Iterator[tuple[str, str]]:
    from local.embedded import EmbeddedKafka, EmbeddedRedis

    with contextlib.ExitStack() as stack:
        bootstrap = settings.kafka_bootstrap or stack.enter_context(EmbeddedKafka()).bootstrap
        redis_url = settings.redis_url or stack.enter_context(EmbeddedRedis()).url
        yield bootstrap, redis_url


def cmd_demo(
    settings: Settings,
    *,
    enterprises: int,
    rate: float,
    seed: int,
    seconds: float | None,
    live_rate: float = 20.0,
    plan_seconds: float = 30.0,
    out: TextIO = sys.stdout,
) -> int:
    """The ``riskmon demo`` command; returns the exit status (0 after Ctrl-C too)."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _demo(settings, enterprises, rate, live_rate, plan_seconds, seed, seconds, out)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)


def _demo(
    settings: Settings,
    enterprises: int,
    rate: float,
    live_rate: float,
    plan_seconds: float,
    seed: int,
    seconds: float | None,
    out: TextIO,
) -> int:
    from kafka import KafkaConsumer, TopicPartition

    from streams.topics import ensure_topics, topic_specs

    s = settings
    tty = out.isatty()
    started = time.monotonic()
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        try:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="riskmon-demo-")))
            print("riskmon demo: starting the broker, Redis and the worker ...", file=out)
            bootstrap, redis_url = stack.enter_context(_servers(s))
            kafka = kafka_python_config(s) if s.kafka_bootstrap is not None else {}
            ensure_topics(bootstrap, topic_specs(s), client_config=kafka)
            web = f"http://{s.web_host}:{s.web_port}"
            log = tmp / "worker.log"
            env = {
                "RISKMON_KAFKA_BOOTSTRAP": bootstrap,
                "RISKMON_REDIS_URL": redis_url,
                "RISKMON_WEB_PORT": str(s.web_port),
                "RISKMON_DATA_DIR": str(tmp / "faust-data"),
                "RISKMON_LOG_LEVEL": "warn",
            }
            proc = spawn_worker(env, log)
            stack.callback(stop_worker, proc)
            print(f"  kafka {bootstrap}   redis {redis_url}   api {web}", file=out)
            print(f"  worker log {log}", file=out, flush=True)
            wait_ready(web, proc, log, timeout=120)
            login = _start_console(s, env, tmp, redis_url, stack, out)

            spec = DistrictSpec(now=default_now(), enterprises=enterprises, seed=seed)
            feed = DistrictFeed(spec, bootstrap, s.events_topic, rate, live_rate, stop)
            if s.kafka_bootstrap is not None:  # a configured broker: its TLS and SASL
                feed.config = confluent_config(s)
            feeder = threading.Thread(target=feed.run, name="riskmon-demo-feeder", daemon=True)
            feeder.start()
            stack.callback(feeder.join, 60)
            office = InspectionOffice(
                spec, s, bootstrap, redis_url, plan_seconds, stop, lambda: feed.history is not None
            )
            if plan_seconds > 0:
                clerk = threading.Thread(target=office.run, name="riskmon-demo-plans", daemon=True)
                clerk.start()
                stack.callback(clerk.join, 60)
            stack.callback(stop.set)

            client = connect(redis_url, socket_timeout=5, **redis_options(s))
            stack.callback(client.close)
            consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), **kafka)
            stack.callback(consumer.close)
            tps = [
                TopicPartition(t, p)
                for t in (s.alerts_topic, s.tasks_topic)
                for p in range(s.partitions)
            ]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            token = _dashboard_token(s, redis_url, stack)
            board = Dashboard(s, web, client, consumer, token)
            announced = False
            while seconds is None or time.monotonic() - started < seconds:
                tick = time.monotonic()
                if proc.poll() is not None:
                    print(f"the worker exited ({proc.returncode}):\n{tail(log)}", file=out)
                    return 1
                # fed: the district's events, and the plans' tasks and inspections
                board.fed = feed.count + office.tasks + office.inspected
                board.phase = feed.phase()
                board.plans = office.status()
                if feed.history is not None and not announced and not tty:
                    print(board.phase, file=out, flush=True)  # a screen shows it in the board
                    announced = True
                with contextlib.suppress(redis.RedisError):
                    board.refresh()
                _draw(out, board, time.monotonic() - started, tty, login)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        except (KeyboardInterrupt, _Stop):
            pass
        except RuntimeError as exc:
            print(f"riskmon demo: {exc}", file=sys.stderr)
            return 1
        finally:
            # A second Ctrl-C must not cut the shutdown short and leave a server behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            stop.set()
            print("riskmon demo: stopping ...", file=out, flush=True)
    print("riskmon demo: stopped; nothing left running", file=out, flush=True)
    return 0
