"""Redis' own rate for riskmon's apply script: ``redis-benchmark`` running apply.lua pipelined.

    python -m benchmarks.redis_baseline [--port 6379] [--requests 200000] [--pipeline 32]

This is the baseline of replay's ratio in ``riskmon bench``: no Python client in the way, the
script applied as fast as Redis runs it. Each call applies one new event (an abnormal-operations
listing: a contribution with a minimum class) to a new enterprise; redis-benchmark's
``__rand_int__`` makes the USCC, the event hash and the contribution key fresh in every call,
so the ledger never short-cuts it. The state hash is one fixed bucket (redis-benchmark cannot
compute a CRC): a field of one hash costs Redis what a field of another does. The events
argument (MessagePack) goes through ``-x`` (standard input), where redis-benchmark stops at the
first NUL byte, so the event's numbers are chosen to encode without one, and the reply of one
call is checked first.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import subprocess
import uuid
from typing import Any

import redis

from scoring.changes import Change, Contribution
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import SCRIPT, Keys, event_wire, pack_events, params_arg

__all__ = ["NoRedisBenchmarkError", "run"]

_RAND = "__rand_int__"  # redis-benchmark puts 12 random digits here, in each call afresh


class NoRedisBenchmarkError(RuntimeError):
    """redis-benchmark is not installed here."""


def _event(uscc: str, ehash: str) -> list[Any]:
    # Every number is chosen so that its MessagePack bytes hold no NUL (floor 2: a listing;
    # points a float, not an integer); the ledger field is the placeholder, not 8 bytes.
    t = 0x6AB13B81
    listing = Contribution(
        f"abn:{ehash}", 2, t, 2.3, 0x01111111, t + 0x01111111, 2, 0x11223344, ref="x"
    )
    return event_wire(uscc, ehash, -1, Change(ehash, t, contribution=listing))


def run(
    host: str = "127.0.0.1",
    port: int = 6379,
    requests: int = 200_000,
    pipeline: int = 32,
    clients: int = 4,
) -> dict[str, Any]:
    """One redis-benchmark run of apply.lua; RuntimeError if it cannot run or times errors."""
    exe = shutil.which("redis-benchmark")
    if exe is None:
        raise NoRedisBenchmarkError("redis-benchmark is not on PATH (Debian package redis-tools)")
    r = redis.Redis(host=host, port=port, socket_timeout=60)
    keys = Keys(f"bench-{uuid.uuid4().hex[:8]}")
    try:
        sha = r.script_load(SCRIPT)
        params = params_arg(Params.of(load_model()))
        uscc, ehash = f"916101{_RAND}", f"e{_RAND}"
        blob = pack_events([_event(uscc, ehash)])
        if b"\0" in blob:
            raise RuntimeError("the benchmark event encodes with a NUL byte")
        # The very call redis-benchmark will repeat, once, with the placeholders filled in.
        filled = blob.replace(_RAND.encode(), b"0" * 12)
        reply = r.evalsha(
            sha,
            4,
            *keys.shared(0),
            keys.states(0, uscc),
            params,
            "apply",
            filled,
        )
        if not reply or not reply[0].startswith(b"applied|"):
            raise RuntimeError(f"apply.lua answered {reply!r} to the benchmark's call")
        out = subprocess.run(
            [
                exe,
                "-h",
                host,
                "-p",
                str(port),
                "-n",
                str(requests),
                "-P",
                str(pipeline),
                "-c",
                str(clients),
                "-r",
                "100000000",
                "--csv",
                "-x",
                "EVALSHA",
                sha,
                "4",
                *keys.shared(0),
                keys.states(0, uscc),
                params,
                "apply",
            ],
            input=blob,
            capture_output=True,
            timeout=600,
            check=False,
        )
        text = out.stdout.decode(errors="replace")
        if out.returncode != 0 or "Error" in text or "ERR" in text:
            raise RuntimeError(f"redis-benchmark failed: {text[-300:]} {out.stderr[-300:]!r}")
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise RuntimeError(f"redis-benchmark printed no figures: {text[-300:]}")
        applied = int(r.hlen(keys.ledger(0)))
        if applied < 0.99 * requests:  # the ledger short-cut calls: not the work of new events
            raise RuntimeError(f"only {applied} distinct events of {requests} calls were applied")
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
        return {
            "redis_benchmark_calls_per_second": float(rows[-1]["rps"]),
            "redis_benchmark_events_per_second": float(rows[-1]["rps"]),
            "redis_benchmark_p50_ms": float(rows[-1]["p50_latency_ms"]),
            "requests": requests,
            "pipeline": pipeline,
            "clients": clients,
            # Distinct events the ledger holds: near ``requests`` proves each call applied anew.
            "distinct_events_applied": applied,
            "redis_benchmark_version": version.stdout.strip(),
        }
    finally:
        for key in r.scan_iter(match=f"{keys.prefix}:*", count=5_000):
            r.unlink(key)
        r.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--pipeline", type=int, default=32)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    try:
        figures = run(a.host, a.port, a.requests, a.pipeline, a.clients)
    except RuntimeError as exc:
        raise SystemExit(f"redis_baseline: {exc}") from None
    if a.json:
        print(json.dumps(figures))
        return
    for k, v in figures.items():
        print(f"{k:36} {v}")


if __name__ == "__main__":
    main()
