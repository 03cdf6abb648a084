"""Redis' own rate for apply.lua: ``redis-benchmark`` running riskmon's apply script pipelined.

    python -m benchmarks.redis_script [--host 127.0.0.1] [--port 6379] [--requests 200000]
                                      [--pipeline 32] [--clients 4] [--events-per-call 1]
                                      [--json]

The baseline of ``riskmon replay``'s ratio (benchmarks/bench.py): how many new events per
second Redis itself applies through scoring/lua/apply.lua when a C client keeps it busy with
pipelined calls and does nothing else. Replay's events/s divided by this says how much of
Redis' capacity riskmon's Python side (decoding, scoring rules, planning, its client) leaves
unused. Every figure comes from a real redis-server and the real script; it asserts nothing
about speed.

Each call applies ``--events-per-call`` NEW events, each to its own random enterprise of
partition 0 (hash tag ``{p000}``): an ordinary penalty with a fine, built by
scoring.changes.change_for and put on the wire by scoring.store.events_arg, whose decision
number (the contribution's key), event hash and enterprise key carry redis-benchmark's
``__rand_int__`` placeholder (``-r 2^31-1``: a fresh 12-digit number for every occurrence in
every call; the replacement has the placeholder's length, so MessagePack's string lengths stay
valid; the uscc inside the event, the due index's member, draws a number of its own). Redis
then does a new event's whole work: decode, ledger HGET, GET, evaluate (no class to B, and the
next change by bisection), SET, HINCRBY, ZADD to the due index, ledger HSET. Left out: the
watermark write (every event's offset is 1, which the pre-flight call below already passed),
and older contributions (each enterprise is new; one with a history costs Redis more per
event, so if anything this baseline is high and replay's ratio to it low).

redis-benchmark cannot send a NUL byte: it measures its arguments, ``-x`` (stdin) included,
with strlen, and finds ``__rand_int__`` with strstr, which stops at the first NUL of its whole
pipelined buffer (and ``-r`` is a C int: a larger keyspace makes every number 0). MessagePack
writes every integer 0 (a contribution's floor, say) and most floats (12.0 points) with NUL
bytes, so the events travel with each NUL replaced by a byte they do not contain, and the script
run is apply.lua behind a one-statement prologue that puts the NULs back (``ARGV[3] =
string.gsub(...)``, on apply.lua's first line, a comment, so its line numbers hold).

Nothing is timed unchecked. First, through redis-py with the calls' exact arguments (each
placeholder a number beyond ``-r``'s range), apply.lua given the raw events and the benchmark's
script given the escaped ones must both answer ``applied|0|<class>|...`` with a due time, event
for event the same. After the run, the ledger must hold (nearly) one new entry per event sent:
``distinct_events_applied``, the proof that the calls applied distinct new events rather than
duplicates. ``unescape_seconds_per_call`` is the prologue's own cost (its string.gsub looped
inside Redis), ``unescape_share_of_call`` that cost times the calls/s: the part of the
baseline's time that riskmon's own calls do not spend. ``redis_benchmark_*`` are
redis-benchmark's figures, the prologue included.

Everything is written under a fresh key prefix ``bench-<hex>``, deleted at the end (also after
an error). Loopback only: it measures Redis, not a network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import itertools
import json
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any, cast

import redis

from schemas.codec import CreditEvent
from schemas.events import EventType, PenaltyImposed
from schemas.uscc import make_uscc
from scoring.changes import change_for
from scoring.fold import Params
from scoring.model import ScoringModel, load_model
from scoring.store import MAX_CALL_EVENTS, SCRIPT, ApplyRequest, Keys, events_arg, params_arg

__all__ = ["INSTALL_HINT", "PLACEHOLDER", "main", "run"]

#: What redis-benchmark replaces, in every argument, with a random 12-digit number.
PLACEHOLDER = "__rand_int__"
#: ``-r``: the largest redis-benchmark takes (a C int; beyond it, every number is 0). Numbers
#: below it, written with 12 digits; random() draws 31 bits, so all of them can come up.
KEYSPACE = 2**31 - 1
#: The placeholder's values in the pre-flight calls (apply.lua's, the benchmark script's): above
#: KEYSPACE, so never one redis-benchmark draws.
_CHECK_RAW, _CHECK_ESCAPED = 998_000_000_000, 999_000_000_000
#: The benchmark must find at least this share of its events in the ledger (a few collide).
MIN_DISTINCT_SHARE = 0.99
INSTALL_HINT = (
    "redis-benchmark is not on PATH: install Redis' command-line tools "
    "(Debian/Ubuntu: apt-get install redis-tools)"
)
_PARTITION = 0
#: The offset of every event: the pre-flight call moves the watermark there, so the timed calls
#: never write it (a replay writes it once per event: a small HSET the baseline leaves out).
_OFFSET = 1
#: Bytes that may not stand for NUL: a Lua pattern's magic characters, and the digits that
#: replace the placeholder.
_MAGIC = frozenset(b"^$()%.[]*+-?0123456789")
#: The last line of ``--csv``: "title","rps","avg","min","p50","p95","p99","max" (the title is
#: the command, escaped events included, so it is read from the end).
_CSV_TAIL = re.compile(rb'"([^",]*)"(?:,"[^",]*"){6}\s*$')


def _template(model: ScoringModel, slot: int) -> ApplyRequest:
    """Event ``slot`` of a call: an ordinary penalty with a fine (A -> B, fading, so a due time)
    for enterprise ``916101<placeholder>``; the placeholder makes its decision number (the
    contribution's key), its event hash and its enterprise new in every call."""
    event = CreditEvent(
        id=f"redis-script-{slot}",
        source="/benchmarks/redis_script",
        type=EventType.PENALTY_IMPOSED,
        subject=make_uscc(random.Random(slot)),
        time=dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        data=PenaltyImposed(
            decision_number=f"市监罚〔2026〕{PLACEHOLDER}号",
            domain="advertising",
            fine_cny=50_000.0,
            severity="ordinary",
        ),
    )
    change = change_for(event, model)
    # 16 characters, as scoring.changes.event_hash's: 4 hex digits of the slot, then 12 random.
    change.event_hash = f"{slot:04x}{PLACEHOLDER}"
    return ApplyRequest(f"916101{PLACEHOLDER}", _PARTITION, _OFFSET, change)


def _escape(blob: bytes) -> tuple[bytes, int]:
    """``blob`` with every NUL byte replaced by a byte it does not contain, and that byte."""
    used = set(blob)
    for byte in range(1, 256):
        if byte not in used and byte not in _MAGIC:
            return blob.replace(b"\0", bytes([byte])), byte
    raise ValueError("no byte value is free to stand for NUL in these events")  # pragma: no cover


def _unescape(byte: int) -> str:
    """Lua: ARGV[3] with ``byte`` turned back into NUL (apply.lua's MessagePack)."""
    return f"string.gsub(ARGV[3], '\\{byte:03d}', '\\000')"


def _substitute(args: Sequence[str | bytes], first: int) -> list[bytes]:
    """``args`` with each placeholder, in order, replaced by the next 12-digit number from
    ``first`` (redis-benchmark draws one per occurrence too)."""
    numbers = itertools.count(first)
    placeholder = re.compile(re.escape(PLACEHOLDER.encode()))
    return [
        placeholder.sub(
            lambda _: b"%012d" % next(numbers), a if isinstance(a, bytes) else a.encode()
        )
        for a in args
    ]


def _check_loopback(host: str) -> None:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise ValueError(f"cannot resolve redis host {host!r}: {exc}") from exc
    if not all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos):
        raise ValueError(f"redis_script measures Redis, not a network: {host} is not loopback")


def _version(exe: str) -> int:
    """redis-benchmark's version as major * 10000 + minor * 100 + patch (70015: 7.0.15)."""
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    if m is None:
        raise RuntimeError(f"cannot read redis-benchmark's version from {out.stdout!r}")
    major, minor, patch = (int(g) for g in m.groups())
    return major * 10_000 + minor * 100 + patch


def _redis_benchmark(
    exe: str, host: str, port: int, settings: tuple[int, int, int], command: list[str], stdin: bytes
) -> float:
    """Run ``command`` (its last argument on stdin); its requests/s."""
    requests, pipeline, clients = settings
    cmd = [exe, "-h", host, "-p", str(port), "-n", str(requests), "-P", str(pipeline)]
    cmd += ["-c", str(clients), "-r", str(KEYSPACE), "--csv", "-x", *command]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    errors = proc.stderr.decode(errors="replace").strip()
    m = _CSV_TAIL.search(proc.stdout)
    if proc.returncode != 0 or "Error" in errors or m is None:
        said = errors or proc.stdout[-500:].decode(errors="replace")
        raise RuntimeError(f"redis-benchmark failed (exit {proc.returncode}): {said[-2000:]}")
    try:
        rate = float(m.group(1))
    except ValueError:
        raise RuntimeError(f"unexpected redis-benchmark output: {m.group(0)!r}") from None
    if not 0 < rate < float("inf"):
        raise RuntimeError(f"redis-benchmark measured no rate ({m.group(1)!r}): too few requests?")
    return rate


def _check_outcomes(raw: list[bytes], escaped: list[bytes], events: int) -> None:
    """The pre-flight replies: one per event, each a new event that moved a new enterprise
    from no class to one with a due time (so the timed calls do a new event's whole work), and
    the same from the benchmark's script on the escaped events as from apply.lua on the raw."""
    if len(raw) != events or not all(v.startswith(b"applied|0|") for v in raw):
        raise RuntimeError(f"apply.lua did not apply the benchmark's events: {raw[:3]!r}")
    for v in raw:
        _, _, new_class, _, _, due = v.split(b"|", 6)[:6]
        if new_class == b"0" or int(due) <= 0:
            raise RuntimeError(f"the benchmark's event gives no class or no due time: {v!r}")
    mapped = [
        re.sub(rb"\d{12}", lambda m: b"%012d" % (int(m[0]) - _CHECK_ESCAPED + _CHECK_RAW), v)
        for v in escaped
    ]
    if mapped != raw:
        raise RuntimeError(
            "apply.lua behind the unescaping prologue does not return what apply.lua returns: "
            f"{escaped[:2]!r} vs {raw[:2]!r}"
        )


def _unescape_seconds(r: redis.Redis, blob: bytes, byte: int) -> float:
    """What the prologue costs Redis per call: the same string.gsub, looped inside Redis (the
    best of a few rounds, less the same call looping zero times)."""
    loop = f"for _ = 1, tonumber(ARGV[1]) do local _ = {_unescape(byte)} end return 1"
    n = max(20, 2_000_000 // len(blob))

    def best(times: int) -> float:
        out = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            r.eval(loop, 0, times, "", blob)
            out = min(out, time.perf_counter() - t0)
        return out

    return max(0.0, (best(n) - best(0)) / n)


def _delete_prefix(r: redis.Redis, prefix: str) -> None:
    batch: list[Any] = []
    for key in r.scan_iter(match=f"{prefix}:*", count=5_000):
        batch.append(key)
        if len(batch) >= 1_000:
            r.delete(*batch)
            batch.clear()
    if batch:
        r.delete(*batch)


def run(
    host: str,
    port: int,
    requests: int = 200_000,
    pipeline: int = 32,
    clients: int = 4,
    events_per_call: int = 1,
) -> dict[str, float]:
    """redis-benchmark's rate for ``requests`` calls of apply.lua with ``events_per_call`` new
    events each (each for its own random enterprise), ``pipeline`` calls in flight on each of
    ``clients`` connections.

    Raises RuntimeError if redis-benchmark is missing (naming what to install) or fails, if
    the script does not apply the events as apply.lua does, or if the calls did not apply
    distinct new events; ValueError on a host that is not loopback or a setting out of range.
    """
    exe = shutil.which("redis-benchmark")
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    if not 1 <= events_per_call <= MAX_CALL_EVENTS:
        raise ValueError(f"events_per_call must be 1..{MAX_CALL_EVENTS}, got {events_per_call}")
    if min(requests, pipeline, clients) < 1:
        raise ValueError("requests, pipeline and clients must be positive")
    _check_loopback(host)
    version = _version(exe)

    model = load_model()
    keys = Keys(f"bench-{secrets.token_hex(6)}")
    batch = [_template(model, slot) for slot in range(events_per_call)]
    call_keys = keys.shared(_PARTITION) + [keys.enterprise(_PARTITION, q.uscc) for q in batch]
    params = params_arg(Params.of(model))
    raw_blob = events_arg(batch)
    blob, byte = _escape(raw_blob)
    # On apply.lua's first line (a comment), so that its line numbers in errors still hold.
    bench_script = f"ARGV[3] = {_unescape(byte)} " + SCRIPT
    ledger = keys.ledger(_PARTITION)

    r = redis.Redis(host=host, port=port)
    try:
        sha = r.script_load(SCRIPT)
        bench_sha = r.script_load(bench_script)
        args: list[str | bytes] = [*call_keys, params, "apply"]
        raw = r.evalsha(sha, len(call_keys), *_substitute([*args, raw_blob], _CHECK_RAW))
        esc = r.evalsha(bench_sha, len(call_keys), *_substitute([*args, blob], _CHECK_ESCAPED))
        _check_outcomes(cast(list[bytes], raw), cast(list[bytes], esc), events_per_call)
        before = r.hlen(ledger)

        command = ["EVALSHA", bench_sha, str(len(call_keys)), *call_keys, params, "apply"]
        settings = (requests, pipeline, clients)
        calls_per_second = _redis_benchmark(exe, host, port, settings, command, blob)
        applied = r.hlen(ledger) - before
        sent = requests * events_per_call
        if applied < MIN_DISTINCT_SHARE * sent:
            raise RuntimeError(
                f"the ledger holds {applied:,} new events of the {sent:,} sent: the calls did "
                f"not apply distinct new events (was {PLACEHOLDER} substituted in them?)"
            )
        unescape = _unescape_seconds(r, blob, byte)
    finally:
        try:
            _delete_prefix(r, keys.prefix)
        finally:
            r.close()

    return {
        "redis_benchmark_calls_per_second": calls_per_second,
        "redis_benchmark_events_per_second": calls_per_second * events_per_call,
        "distinct_events_applied": applied,
        "unescape_seconds_per_call": unescape,
        "unescape_share_of_call": unescape * calls_per_second,
        "requests": requests,
        "pipeline": pipeline,
        "clients": clients,
        "events_per_call": events_per_call,
        "events_bytes_per_call": len(raw_blob),
        "redis_benchmark_version": version,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--requests", type=int, default=200_000, help="apply.lua calls")
    ap.add_argument("--pipeline", type=int, default=32)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--events-per-call", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    a = ap.parse_args(argv)
    try:
        figures = run(a.host, a.port, a.requests, a.pipeline, a.clients, a.events_per_call)
    except (RuntimeError, ValueError) as exc:
        print(f"redis_script: {exc}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(figures))
        return 0
    for k, v in figures.items():
        if k == "redis_benchmark_version":
            print(f"{k:34} {_dotted(int(v)):>14}")
        elif k.startswith("unescape_"):
            print(f"{k:34} {v:14.3g}")
        else:
            print(f"{k:34} {v:14,.1f}")
    return 0


def _dotted(num: int) -> str:
    return f"{num // 10_000}.{num // 100 % 100}.{num % 100}"


if __name__ == "__main__":
    sys.exit(main())
