"""The scaling phase's arithmetic (benchmarks/scaling.py): workers and Redis masters for a load
from the CPU each event cost, and the table that prints them."""

from __future__ import annotations

from benchmarks.scaling import Point, sizing, table


def _point(workers: int, redis_us: float, workers_us: float) -> Point:
    return Point(
        workers=workers,
        events=100_000,
        seconds=20.0,
        events_per_second=5_000.0,
        redis_cpu_us_per_event=redis_us,
        workers_cpu_us_per_event=workers_us,
        per_worker_cpu_us_per_event=(workers_us / workers,) * workers,
    )


def test_sizing_rounds_up_load_times_cpu_per_event_over_the_core_budget() -> None:
    p = _point(4, redis_us=35.0, workers_us=140.0)
    small, large = sizing(p, [1_000, 100_000], budget=0.7)
    # 1,000 ev/s x 140 us = 0.14 core: one worker; 100,000 x 140 us = 14 cores / 0.7 = 20
    assert (small.workers, small.redis_shards) == (1, 1)
    assert large.workers == 20
    # 100,000 x 35 us = 3.5 cores / 0.7 = 5 masters
    assert large.redis_shards == 5


def test_the_table_shows_each_worker_count_and_the_sizing_from_the_largest() -> None:
    text = table([_point(1, 30.0, 120.0), _point(4, 36.0, 160.0)], [10_000])
    lines = text.splitlines()
    assert lines[1].split()[0] == "1" and lines[2].split()[0] == "4"
    assert "from the 4-worker costs" in text
    # 10,000 x 160 us = 1.6 cores / 0.7 -> 3 workers; 10,000 x 36 us = 0.36 / 0.7 -> 1 master
    assert lines[-1].split() == ["10,000", "3", "1"]
