"""What the benchmarks read while a worker runs: how many events it has applied (from the
watermarks in Redis), waiting for a condition, and the CPU a process has used (Linux /proc)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import redis

from scoring.store import Keys

__all__ = ["applied_counter", "cpu_seconds", "wait_until"]

_POLL_SECONDS = 0.005


def applied_counter(r: redis.Redis, keys: Keys, partitions: int) -> Callable[[], int]:
    """A function giving the events applied under ``keys`` so far: the sum over the
    partitions of watermark + 1, in one pipelined round trip."""

    def applied() -> int:
        pipe = r.pipeline(transaction=False)
        for p in range(partitions):
            pipe.hget(keys.meta(p), "wm")
        return sum(int(v if v is not None else -1) + 1 for v in pipe.execute())

    return applied


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it holds; RuntimeError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(_POLL_SECONDS)


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user and system, all threads) ``pid`` has used so far; None if it is
    gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
