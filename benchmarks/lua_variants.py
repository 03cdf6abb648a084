"""Redis time per live event of apply.lua variants, taking turns batch by batch.

    python -m benchmarks.lua_variants [--enterprises 20000] [--live 40000] [--batch 68]
        [name=path/to/apply.lua ...]

How a change to the script is measured on a shared, noisy machine: the district's history is
replayed once (by the shipped script), its keys are copied to one prefix per variant, and then
the district's live events (the load of the bench's latency phase, which falls mostly on
habitual offenders) are applied in batches of ``--batch`` events, planned as the worker plans
them, each batch by every variant in turn (the order alternating), on its own copy. A drift of
the machine's speed then falls on every variant alike. Prints, per variant, the time of its
calls per event (round trip included: the Python client's share is the same for all) and
whether its outcomes (with the time-driven changes each event fired) and final states are the
first variant's. Without variants it runs the
shipped script twice, which shows the noise floor. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
import redis.asyncio as aioredis

from benchmarks.bench import MAX_EVENT_BYTES, NOW, PARTITIONS, drop_prefix, local_redis_url
from district.generator import DistrictSpec, live_events
from jobs.replay import replay
from local.feed import keyed_lines
from schemas.codec import encode_event
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import SCRIPT, Keys, Reply, Store
from streams.planning import Planner, Record, plan
from streams.topics import partition_for

__all__ = ["Variant", "main", "run"]


@dataclass(frozen=True)
class Variant:
    name: str
    script: str

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, sep, path = text.partition("=")
        if not sep or not name or not path:
            raise argparse.ArgumentTypeError(f"{text!r}: give name=path/to/apply.lua")
        return cls(name, Path(path).read_text(encoding="utf-8"))


def _records(values: list[tuple[bytes, bytes]], first: dict[int, int]) -> list[Record]:
    """Records as a 4-partition topic would hold them, offsets going on from ``first``."""
    out = []
    for key, value in values:
        p = partition_for(key, PARTITIONS)
        out.append(Record("events", p, first.get(p, 0), key, value))
        first[p] = first.get(p, 0) + 1
    return out


async def _history(url: str, prefix: str, records: list[Record]) -> None:
    async def batches() -> AsyncIterator[list[Record]]:
        for i in range(0, len(records), 2_000):
            yield records[i : i + 2_000]

    await replay(
        batches(),
        redis_url=url,
        prefix=prefix,
        model=load_model(),
        partitions=PARTITIONS,
        max_event_bytes=MAX_EVENT_BYTES,
        processes=0,
    )


async def _turns(
    url: str, prefixes: list[str], variants: Sequence[Variant], live: list[Record], batch: int
) -> list[tuple[float, list[Reply]]]:
    """(seconds, replies) of each variant over ``live``, batch by batch in turn: each event's
    outcome and the time-driven changes it fired."""
    model = load_model()
    client = aioredis.Redis.from_url(url)
    try:
        stores, planned = [], []
        wire = [(r.topic, r.partition, r.offset, r.key, r.value) for r in live]
        for prefix, v in zip(prefixes, variants, strict=True):
            store = Store(
                client,
                prefix=prefix,
                params=Params.of(model),
                partitions=PARTITIONS,
                script=v.script,
            )
            planner = Planner(model, store.keys, store.params_arg, PARTITIONS, MAX_EVENT_BYTES)
            planned.append(
                [plan(wire[i : i + batch], planner).calls for i in range(0, len(wire), batch)]
            )
            stores.append(store)
        seconds = [0.0] * len(variants)
        outcomes: list[list[Reply]] = [[] for _ in variants]
        for i in range(len(planned[0])):
            order = range(len(variants)) if i % 2 == 0 else reversed(range(len(variants)))
            for j in order:
                started = time.perf_counter()
                replies = await stores[j].execute_replies(planned[j][i])
                seconds[j] += time.perf_counter() - started
                outcomes[j] += replies
        return list(zip(seconds, outcomes, strict=True))
    finally:
        await client.aclose()


def _states(r: redis.Redis, prefix: str) -> dict[str, object]:
    """Every state hash under ``prefix``, by its name without the prefix."""
    keys = Keys(prefix)
    return {b[len(prefix) :]: r.hgetall(b) for p in range(PARTITIONS) for b in keys.buckets(p)}


def run(
    variants: Sequence[Variant], *, enterprises: int, live: int, batch: int, url: str
) -> list[dict[str, object]]:
    """One row per variant: name, µs per event, and whether it agrees with the first."""
    spec = DistrictSpec(now=NOW, enterprises=enterprises, seed=3)
    offsets: dict[int, int] = {}
    history = _records(list(keyed_lines(spec)), offsets)
    t0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    times = (t0 + dt.timedelta(seconds=i / 6_000) for i in range(live))
    live_records = _records(
        [(ev.subject.encode(), encode_event(ev)) for ev in live_events(spec, times)], offsets
    )
    r = redis.Redis.from_url(url)
    run_id = uuid.uuid4().hex[:8]
    base = f"lua-{run_id}-history"
    prefixes = [f"lua-{run_id}-{i}" for i in range(len(variants))]
    try:
        asyncio.run(_history(url, base, history))
        for key in r.scan_iter(match=f"{base}:*", count=5_000):
            for prefix in prefixes:
                r.copy(key, prefix.encode() + key[len(base) :])
        results = asyncio.run(_turns(url, prefixes, variants, live_records, batch))
        states = [_states(r, p) for p in prefixes]
    finally:
        for prefix in [base, *prefixes]:
            drop_prefix(r, prefix)
        r.close()
    rows: list[dict[str, object]] = []
    for v, (seconds, outcomes), st in zip(variants, results, states, strict=True):
        rows.append(
            {
                "variant": v.name,
                "us_per_event": seconds / len(live_records) * 1e6,
                "same_outcomes": outcomes == results[0][1],
                "same_states": st == states[0],
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lua_variants", description=__doc__)
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--live", type=int, default=40_000, help="live events applied")
    parser.add_argument("--batch", type=int, default=68, help="events per batch (one fetch)")
    parser.add_argument("variants", nargs="*", type=Variant.parse, help="name=path/to/apply.lua")
    args = parser.parse_args(argv)
    variants = args.variants or [Variant("shipped", SCRIPT), Variant("shipped-again", SCRIPT)]
    with contextlib.ExitStack() as stack:
        url = local_redis_url(stack)
        rows = run(
            variants, enterprises=args.enterprises, live=args.live, batch=args.batch, url=url
        )
    first = rows[0]["variant"]
    for row in rows:
        agree = "same as" if row["same_outcomes"] and row["same_states"] else "DIFFERENT from"
        print(
            f"{row['variant']:>16}: {row['us_per_event']:6.1f} µs per live event"
            f" (outcomes and states: {agree} {first})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
