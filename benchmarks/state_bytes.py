"""Redis bytes per enterprise, and the pipelined apply rate of the Lua path.

    python -m benchmarks.state_bytes [--enterprises 20000] [--events-per-enterprise 6]
                                     [--redis-url redis://127.0.0.1:6379/0]

Applies a seeded event mix straight through scoring.store (no Kafka) into a fresh key prefix,
then reports MEMORY USAGE summed over the enterprise hashes (state), the ledgers (dedup, per
applied event) and the due index, divided by the number of enterprises. Prints figures only;
it asserts nothing. Without --redis-url it starts an embedded redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid

import redis
import redis.asyncio as aioredis

from schemas.codec import decode_event
from scoring.changes import change_for
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import ApplyRequest, Store
from streams.embedded import EmbeddedRedis
from streams.topics import partition_for
from tests.eventlog import seeded_log

PARTITIONS = 8


def _memory(r: redis.Redis, pattern: str) -> tuple[int, int]:
    total = n = 0
    for key in r.scan_iter(match=pattern, count=2000):
        total += int(r.memory_usage(key, samples=0) or 0)
        n += 1
    return total, n


async def _apply(url: str, prefix: str, requests: list[ApplyRequest], batch: int) -> float:
    model = load_model()
    client = aioredis.Redis.from_url(url)
    store = Store(client, prefix=prefix, params=Params.of(model), partitions=PARTITIONS)
    t0 = time.perf_counter()
    for i in range(0, len(requests), batch):
        await store.apply_batch(requests[i : i + batch])
    elapsed = time.perf_counter() - t0
    await client.aclose()
    return elapsed


def run(url: str, enterprises: int, per_enterprise: int, batch: int) -> dict[str, float]:
    model = load_model()
    log = seeded_log(
        seed=7,
        enterprises=enterprises,
        events=enterprises * per_enterprise,
        duplicate_ratio=0,
        poison=False,
    )
    requests = []
    offsets = dict.fromkeys(range(PARTITIONS), 0)
    for rec in log:
        ev = decode_event(rec.value)
        p = partition_for(ev.subject.encode(), PARTITIONS)
        requests.append(ApplyRequest(ev.subject, p, offsets[p], change_for(ev, model)))
        offsets[p] += 1
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    elapsed = asyncio.run(_apply(url, prefix, requests, batch))
    r = redis.Redis.from_url(url)
    try:
        state, n_ent = _memory(r, f"{prefix}:e:*")
        ledger, _ = _memory(r, f"{prefix}:l:*")
        due, _ = _memory(r, f"{prefix}:due:*")
        meta, _ = _memory(r, f"{prefix}:m:*")
    finally:
        for key in r.scan_iter(match=f"{prefix}:*", count=2000):
            r.delete(key)
        r.close()
    return {
        "enterprises": n_ent,
        "events": len(requests),
        "state_bytes_per_enterprise": state / n_ent,
        "ledger_bytes_per_enterprise": ledger / n_ent,
        "ledger_bytes_per_event": ledger / len(requests),
        "due_index_bytes_per_enterprise": due / n_ent,
        "partition_meta_bytes_total": meta,
        "apply_events_per_second": len(requests) / elapsed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--events-per-enterprise", type=int, default=6)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--redis-url")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with contextlib.ExitStack() as stack:
        url = a.redis_url or stack.enter_context(EmbeddedRedis()).url
        figures = run(url, a.enterprises, a.events_per_enterprise, a.batch)
    if a.json:
        print(json.dumps(figures))
        return
    for k, v in figures.items():
        print(f"{k:34} {v:12,.1f}")


if __name__ == "__main__":
    main()
