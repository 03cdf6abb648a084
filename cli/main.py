"""``riskmon``: run the worker (embedded servers by default), send events, look up a class."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import logging
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from schemas.codec import decode_event, loads
from schemas.exceptions import InvalidEventError
from schemas.uscc import is_valid
from scoring.exceptions import ModelError
from scoring.model import load_model
from streams.settings import ConfigError, Settings, load_settings

__all__ = ["main"]

log = logging.getLogger("riskmon")


def cmd_run(s: Settings) -> int:
    import faust

    from local.embedded import EmbeddedKafka, EmbeddedRedis
    from streams.app import build
    from streams.event_loop import install
    from streams.topics import ensure_topics, topic_specs

    model = load_model(s.model_path)
    loop = install(s.event_loop)  # before build(): nothing may have made a loop yet
    # Faust fetches in a thread of its own; it waits for the GIL while the loop plans a batch.
    # Python's 5 ms is the default: since the consumer hands a whole fetch over at once, a
    # shorter interval only adds switches (alternating rounds in the README, under Measured).
    sys.setswitchinterval(s.gil_switch_seconds)
    with contextlib.ExitStack() as stack:
        bootstrap = s.kafka_bootstrap
        if bootstrap is None:
            bootstrap = stack.enter_context(EmbeddedKafka()).bootstrap
        redis_url = s.redis_url
        if redis_url is None:
            redis_url = stack.enter_context(EmbeddedRedis()).url
        ensure_topics(bootstrap, topic_specs(s))
        rt = build(s, bootstrap=bootstrap, redis_url=redis_url, model=model)
        web = f"http://{s.web_host}:{s.web_port}"
        where = {
            "kafka": bootstrap + ("  (embedded Tansu)" if s.kafka_bootstrap is None else ""),
            "redis": redis_url + ("  (embedded)" if s.redis_url is None else ""),
            "api": web + "/enterprises/{uscc}   " + web + "/metrics",
            "topics": f"{s.events_topic} -> {s.alerts_topic}, {s.tasks_topic}, {s.dlq_topic}",
            "model": model.version,
            "loop": loop,
        }
        print("riskmon is starting:", flush=True)
        for k, v in where.items():
            print(f"  {k:7} {v}", flush=True)
        print("  send events with: riskmon send examples/story.jsonl   (Ctrl-C stops)", flush=True)
        s.run_file.parent.mkdir(parents=True, exist_ok=True)
        s.run_file.write_text(json.dumps({"kafka": bootstrap, "redis": redis_url, "web": web}))
        stack.callback(lambda: s.run_file.unlink(missing_ok=True))
        worker = faust.Worker(rt.app, loglevel=s.log_level, quiet=True)
        # What is alive now (modules, the model, the app) lives as long as the process: out
        # of the collector's sight, a full collection no longer walks it (measured: 42-46 ms
        # pauses gone, 4-11% less CPU per event in five alternating rounds).
        gc.collect()
        gc.freeze()
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


def _running(s: Settings) -> dict[str, str]:
    try:
        return dict(json.loads(s.run_file.read_text()))
    except (OSError, ValueError):
        return {}


def cmd_send(s: Settings, source: str, allow_invalid: bool) -> int:
    from kafka import KafkaProducer

    bootstrap = s.kafka_bootstrap or _running(s).get("kafka")
    if not bootstrap:
        print("no Kafka: set RISKMON_KAFKA_BOOTSTRAP or start `riskmon run`", file=sys.stderr)
        return 2
    text = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    records: list[tuple[bytes | None, bytes]] = []
    bad = 0
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            ev = decode_event(line, s.max_event_bytes)
            records.append((ev.subject.encode(), line))
        except InvalidEventError as exc:
            bad += 1
            print(f"line {n}: {exc}", file=sys.stderr)
            if allow_invalid:
                records.append((_subject_guess(line), line))
    if bad and not allow_invalid:
        print(
            f"{bad} invalid line(s); nothing sent (--allow-invalid sends them to be dead-lettered)",
            file=sys.stderr,
        )
        return 2
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=5)
    try:
        for key, value in records:
            producer.send(s.events_topic, key=key, value=value)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    print(f"sent {len(records)} event(s) to {s.events_topic} at {bootstrap}")
    return 0


def _subject_guess(line: bytes) -> bytes | None:
    try:
        subject = loads(line).get("subject")
    except Exception:
        return None
    return subject.encode() if isinstance(subject, str) else None


_PER_EVENT = ("complaint.received", "inspection.completed")


def cmd_lookup(s: Settings, uscc: str, as_json: bool) -> int:
    if not is_valid(uscc):
        print(f"{uscc!r} is not a valid USCC (GB 32100 check character)", file=sys.stderr)
        return 2
    web = _running(s).get("web") or f"http://{s.web_host}:{s.web_port}"
    try:
        with urllib.request.urlopen(f"{web}/enterprises/{uscc}", timeout=10) as resp:
            doc = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        print(f"{uscc}: {json.loads(exc.read()).get('error', exc.reason)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach the riskmon API at {web}: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{uscc}  class {doc['class']}  score {doc['score']:.2f}"
        f"  (model {doc['model_version']}, as of {doc['asof']})"
    )
    if doc.get("next_time_driven_change"):
        print(f"  class changes by time alone at {doc['next_time_driven_change']}")
    print("  why:")
    for c in doc["contributions"]:
        state = "cancelled" if c["cancelled"] else f"{c['points_now']:7.2f} pts"
        floor = f"  min class {c['min_class']}" if c["min_class"] and not c["cancelled"] else ""
        # a decision number says more than an event hash; complaints show their category
        shown = c["detail"] if c["event_type"] in _PER_EVENT else c["reference"]
        ref = f" {shown}" if shown else ""
        print(f"    {state:>11}  {c['event_type']}{ref} ({c['recorded_at'][:10]}){floor}")
    return 0


def cmd_schemas(check: bool) -> int:
    from schemas.jsonschemas import SCHEMA_DIR, stale, write

    if check:
        behind = stale()
        for name in behind:
            print(f"stale: {SCHEMA_DIR / name}", file=sys.stderr)
        return 1 if behind else 0
    for path in write():
        print(path)
    return 0


def _aware_time(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riskmon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the worker; embedded Kafka and Redis unless configured")
    run.add_argument("--web-port", type=int, help="API port (RISKMON_WEB_PORT)")
    send = sub.add_parser("send", help="validate and publish JSON-lines CloudEvents")
    send.add_argument("file", help="a .jsonl file, or - for standard input")
    send.add_argument(
        "--allow-invalid",
        action="store_true",
        help="send invalid lines too (they will be dead-lettered)",
    )
    lookup = sub.add_parser("lookup", help="print an enterprise's class and why")
    lookup.add_argument("uscc")
    lookup.add_argument("--json", action="store_true", help="print the API's JSON")
    schemas = sub.add_parser("schemas", help="write the JSON Schemas of all events")
    schemas.add_argument("--check", action="store_true", help="fail if the files are stale")
    gen = sub.add_parser("generate", help="a seeded synthetic district's credit events")
    gen.add_argument("--enterprises", type=int, default=20_000, help="default 20000")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--rate", type=float, help="events/s, paced (default: as fast as possible)")
    gen.add_argument("--out", help="JSON-lines file, or - for standard output (the default)")
    gen.add_argument("--kafka", action="store_true", help="publish to the events topic instead")
    gen.add_argument(
        "--now", type=_aware_time, help="end of the simulated period (default: today 00:00 UTC)"
    )
    gen.add_argument("--truth", type=Path, help="also write each enterprise's propensity (CSV)")
    demo = sub.add_parser("demo", help="embedded servers, the worker and a live district")
    demo.add_argument("--enterprises", type=int, default=2_000, help="default 2000")
    demo.add_argument("--rate", type=float, default=500.0, help="events/s (default 500)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--live-rate",
        type=float,
        default=20.0,
        help="events/s of the live district once its history is fed (default 20; 0: none)",
    )
    demo.add_argument("--seconds", type=float, help="stop by itself after this long")
    demo.add_argument("--web-port", type=int, help="API port (RISKMON_WEB_PORT)")
    replay = sub.add_parser("replay", help="rebuild all state from the event log into a new prefix")
    replay.add_argument("--prefix", required=True, help="a fresh Redis key prefix")
    replay.add_argument("--file", type=Path, help="a JSON-lines file instead of the topic")
    replay.add_argument("--batch", type=int, default=2_000, help="apply calls per round trip")
    reclassify = sub.add_parser(
        "reclassify",
        help="re-evaluate every enterprise after a change of thresholds, caps or horizon",
        description="Re-evaluate every stored enterprise, each at its own as-of time, under the"
        " model's thresholds, dimension caps and horizon; send a class-change alert for each"
        " enterprise whose class changed. A model whose event points changed needs `riskmon"
        " replay` into a new prefix instead. Roll the workers to the new model first, then run"
        " this: workers stamp what they touch with the new version, so it skips those; it can"
        " be stopped and run again at any time (done enterprises are skipped).",
    )
    reclassify.add_argument(
        "--model", type=Path, help="the new scoring model (default: RISKMON_MODEL_PATH)"
    )
    reclassify.add_argument("--prefix", help="Redis key prefix (default: RISKMON_REDIS_PREFIX)")
    reclassify.add_argument(
        "--force",
        action="store_true",
        help="re-evaluate enterprises already at the model's version too",
    )
    reclassify.add_argument(
        "--no-alerts",
        action="store_true",
        help="send no alerts (default: alerts to the alerts topic when Kafka is configured)",
    )
    judge = sub.add_parser(
        "judge",
        help="how well the classes under a prefix rank a synthetic district's hidden truth",
        description="Evaluate every enterprise under the prefix at one moment and judge the"
        " classes against the propensities `riskmon generate --truth` wrote: per class, the mean"
        " propensity and the share of the riskiest enterprises; the recall of C+D; AUC and"
        " Spearman's rank correlation.",
    )
    judge.add_argument("--truth", type=Path, required=True, help="CSV of riskmon generate --truth")
    judge.add_argument("--prefix", help="Redis key prefix (default: RISKMON_REDIS_PREFIX)")
    judge.add_argument(
        "--model", type=Path, help="thresholds and caps to judge by (default: RISKMON_MODEL_PATH)"
    )
    judge.add_argument(
        "--riskiest",
        type=float,
        default=0.1,
        help="fraction of enterprises, by propensity, that counts as the riskiest (default 0.1)",
    )
    judge.add_argument(
        "--asof",
        type=_aware_time,
        help="evaluate every class at this time (default: the newest as-of time under the prefix)",
    )
    judge.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench = sub.add_parser(
        "bench",
        help="measure throughput, latency, replay, bytes and reclassify time (riskmon bench -h)",
        add_help=False,
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        from benchmarks.bench import main as bench_main

        return bench_main([*extra, *args.bench_args])
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("kafka", "aiokafka"):  # their INFO is connection chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        overrides = {"web_port": args.web_port} if getattr(args, "web_port", None) else {}
        settings = load_settings(**overrides)
        if args.command == "run":
            return cmd_run(settings)
        if args.command == "send":
            return cmd_send(settings, args.file, args.allow_invalid)
        if args.command == "lookup":
            return cmd_lookup(settings, args.uscc, args.json)
        if args.command == "generate":
            from local.feed import cmd_generate

            return cmd_generate(
                events_topic=settings.events_topic,
                kafka_bootstrap=settings.kafka_bootstrap or _running(settings).get("kafka"),
                enterprises_n=args.enterprises,
                seed=args.seed,
                rate=args.rate,
                out=args.out,
                to_kafka=args.kafka,
                now=args.now,
                truth=args.truth,
                partitions=settings.partitions,
            )
        if args.command == "demo":
            from local.demo import cmd_demo

            return cmd_demo(
                settings,
                enterprises=args.enterprises,
                rate=args.rate,
                seed=args.seed,
                seconds=args.seconds,
                live_rate=args.live_rate,
            )
        if args.command == "replay":
            from jobs.replay import cmd_replay

            return cmd_replay(
                file=args.file,
                topic=settings.events_topic,
                kafka_bootstrap=settings.kafka_bootstrap or _running(settings).get("kafka"),
                redis_url=settings.redis_url or _running(settings).get("redis"),
                prefix=args.prefix,
                model=load_model(settings.model_path),
                partitions=settings.partitions,
                max_event_bytes=settings.max_event_bytes,
                batch=args.batch,
                ledger_window=settings.ledger_window,
            )
        if args.command == "reclassify":
            from jobs.reclassify import cmd_reclassify

            return cmd_reclassify(
                redis_url=settings.redis_url or _running(settings).get("redis"),
                kafka_bootstrap=settings.kafka_bootstrap or _running(settings).get("kafka"),
                alerts_topic=settings.alerts_topic,
                prefix=args.prefix or settings.redis_prefix,
                model=load_model(args.model or settings.model_path),
                partitions=settings.partitions,
                force=args.force,
                alerts=not args.no_alerts,
            )
        if args.command == "judge":
            from jobs.judge import cmd_judge

            return cmd_judge(
                redis_url=settings.redis_url or _running(settings).get("redis"),
                prefix=args.prefix or settings.redis_prefix,
                truth=args.truth,
                model=load_model(args.model or settings.model_path),
                partitions=settings.partitions,
                riskiest=args.riskiest,
                asof=int(args.asof.timestamp()) if args.asof else None,
                as_json=args.json,
            )
        return cmd_schemas(args.check)
    except (ConfigError, ModelError) as exc:
        print(f"riskmon: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
