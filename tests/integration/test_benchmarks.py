"""``riskmon bench`` runs once at a tiny size, so that it keeps working (figures not judged)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks import bench

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_bench_quick_reports_every_figure_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    sizes = figures["sizes"]
    # Every phase ran on the data it was given, and every rate and size is a real measurement.
    assert figures["events"] > sizes["enterprises"]  # each firm registers, some do more
    assert figures["replay_events"] >= figures["events"]  # the topic plus the live phase
    assert figures["state_enterprises"] == sizes["state_enterprises"]
    for name in (
        "faust_ceiling_events_per_second",
        "faust_ceiling_riskmon_runtime_events_per_second",
        "worker_events_per_second",
        "replay_events_per_second",
        "state_bytes_per_enterprise",
        "ledger_bytes_per_event",
        # the district's registrations start observation periods, its penalties schedule
        # repair reminders: supervision holds keys for it
        "supervision_bytes_per_enterprise",
        "supervision_ledger_bytes_per_event",
    ):
        assert figures[name] > 0, name
    # scaling: each worker count applied the district, every process's cost measured
    scaling = figures["scaling"]
    assert [p["workers"] for p in scaling] == [1, 2, 4]
    for p in scaling:
        assert p["events"] > sizes["scaling_enterprises"]
        assert p["events_per_second"] > 0 and p["redis_cpu_us_per_event"] > 0
        assert len(p["per_worker_cpu_us_per_event"]) == p["workers"]
        assert p["workers_cpu_us_per_event"] > 0
    assert "redis masters" in figures["scaling_table"]
    assert figures["worker_ratio_to_ceiling"] == pytest.approx(
        figures["worker_events_per_second"] / figures["faust_ceiling_events_per_second"]
    )
    assert figures["worker_ratio_to_riskmon_runtime_ceiling"] == pytest.approx(
        figures["worker_events_per_second"]
        / figures["faust_ceiling_riskmon_runtime_events_per_second"]
    )
    if shutil.which("redis-benchmark"):
        assert figures["redis_benchmark_events_per_second"] > 0
        assert figures["replay_ratio_to_redis_benchmark"] == pytest.approx(
            figures["replay_events_per_second"] / figures["redis_benchmark_events_per_second"]
        )
    else:  # the table says why the baseline is missing; every other figure is there
        assert "redis-tools" in figures["redis_benchmark_missing"]
    assert figures["latency_alerts_sampled"] > 0
    # The live load is half the worker's measured rate (--load's default).
    assert figures["latency_offered_events_per_second"] == pytest.approx(
        figures["worker_events_per_second"] * sizes["load"]
    )
    assert figures["latency_p50_ms"] <= figures["latency_p99_ms"]
    if Path("/proc/self/stat").exists():  # the cores each process used under the live load
        for who in ("worker", "broker", "redis", "load_generator"):
            assert figures[f"latency_cpu_{who}_cores"] >= 0, who
        assert "CPU meanwhile: the worker" in bench.table(figures)
    for size in sizes["reclassify"]:
        # Every enterprise of the size was re-evaluated, and a 20% lower threshold moved some.
        assert figures[f"reclassify_{size}_enterprises"] >= size
        assert (
            0 < figures[f"reclassify_{size}_changed"] <= figures[f"reclassify_{size}_enterprises"]
        )
    assert figures["machine"]["cores"] >= 1
