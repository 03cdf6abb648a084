"""The Prometheus exposition riskmon serves: families, types, closed label sets, promtool lint."""

from __future__ import annotations

import os
import subprocess

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import render
from schemas.events import EventType
from streams.metrics import DEAD_LETTER_REASONS, Metrics
from tests.support.promtool import promtool

EXPECTED_TYPES = {
    "riskmon_events_total": "counter",
    "riskmon_dead_letters_total": "counter",
    "riskmon_processing_latency_seconds": "histogram",
    "riskmon_event_time_lag_seconds": "gauge",
    "riskmon_class_transitions_total": "counter",
    "riskmon_time_driven_changes_total": "counter",
    "riskmon_alerts_total": "counter",
    "riskmon_tasks_total": "counter",
    "riskmon_batch_events": "histogram",
    "riskmon_batch_stage_seconds": "histogram",
    "riskmon_redis_retries_total": "counter",
    "riskmon_redis_rewinds_total": "counter",
    "riskmon_last_progress_timestamp_seconds": "gauge",
    "riskmon_consumer_lag_records": "gauge",
    "riskmon_model_info": "gauge",
    "riskmon_enterprises": "gauge",
}


def _types(text: str) -> dict[str, str]:
    """``# TYPE`` lines as Prometheus reads them (name → type)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, mtype = line.split(" ")
            out[name] = mtype
    return out


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def snapshot() -> dict[str, int]:
    return {"A": 10, "B": 4, "D": 1}


@pytest.fixture
def metrics_text(snapshot: dict[str, int]) -> str:
    registry = CollectorRegistry()
    m = Metrics.create(registry, lambda: snapshot)
    m.set_model_version("weiyang-2024.1")
    m.events.labels(type=str(EventType.PENALTY_IMPOSED), outcome="applied").inc(2)
    m.events.labels(type="unknown", outcome="dead_lettered").inc()
    m.dead_letters.labels(reason="invalid_uscc").inc()
    m.latency.observe(0.004)
    m.latency.observe(0.3)
    m.event_time_lag.set(12.5)
    m.transitions.labels(from_class="none", to_class="A").inc()
    m.transitions.labels(from_class="B", to_class="D").inc()
    m.alerts.labels(type="riskmon.alert.class_changed").inc()
    m.tasks.labels(trigger="class_d").inc()
    m.batch_size.observe(3)
    m.redis_retries.inc()
    m.last_progress.set(1_700_000_000.0)
    return render(registry).decode()


def test_exposition_has_every_family_with_its_type(metrics_text: str) -> None:
    types = _types(metrics_text)
    assert {n: types.get(n) for n in EXPECTED_TYPES} == EXPECTED_TYPES


def test_observed_values_are_exposed(metrics_text: str) -> None:
    s = _samples(metrics_text)
    assert (
        s[
            (
                "riskmon_events_total",
                frozenset({("type", "penalty.imposed"), ("outcome", "applied")}),
            )
        ]
        == 2
    )
    assert s[("riskmon_dead_letters_total", frozenset({("reason", "invalid_uscc")}))] == 1
    assert s[("riskmon_processing_latency_seconds_count", frozenset())] == 2
    assert s[("riskmon_processing_latency_seconds_bucket", frozenset({("le", "0.005")}))] == 1
    assert s[("riskmon_processing_latency_seconds_bucket", frozenset({("le", "0.5")}))] == 2
    assert s[("riskmon_event_time_lag_seconds", frozenset())] == 12.5
    assert (
        s[("riskmon_class_transitions_total", frozenset({("from_class", "B"), ("to_class", "D")}))]
        == 1
    )
    assert s[("riskmon_tasks_total", frozenset({("trigger", "class_d")}))] == 1
    assert s[("riskmon_redis_retries_total", frozenset())] == 1
    assert s[("riskmon_last_progress_timestamp_seconds", frozenset())] == 1_700_000_000.0
    assert s[("riskmon_model_info", frozenset({("version", "weiyang-2024.1")}))] == 1


def test_closed_label_sets_exist_at_zero_before_any_event() -> None:
    registry = CollectorRegistry()
    Metrics.create(registry, dict)
    s = _samples(render(registry).decode())
    for reason in (
        "not_json",
        "not_cloudevent",
        "unknown_type",
        "invalid_data",
        "invalid_uscc",
        "oversized",
    ):
        assert reason in DEAD_LETTER_REASONS
        assert s[("riskmon_dead_letters_total", frozenset({("reason", reason)}))] == 0
    for etype in EventType:
        for outcome in ("applied", "duplicate"):
            key = frozenset({("type", str(etype)), ("outcome", outcome)})
            assert s[("riskmon_events_total", key)] == 0
    assert s[("riskmon_tasks_total", frozenset({("trigger", "serious_violation")}))] == 0
    for stage in ("queued", "plan", "order", "apply", "supervise", "acks"):
        assert s[("riskmon_batch_stage_seconds_count", frozenset({("stage", stage)}))] == 0
    assert (
        s[
            (
                "riskmon_class_transitions_total",
                frozenset({("from_class", "none"), ("to_class", "D")}),
            )
        ]
        == 0
    )
    assert (
        "riskmon_class_transitions_total",
        frozenset({("from_class", "A"), ("to_class", "A")}),
    ) not in s
    assert {cls: s[("riskmon_enterprises", frozenset({("class", cls)}))] for cls in "ABCD"} == {
        "A": 0,
        "B": 0,
        "C": 0,
        "D": 0,
    }


def test_enterprises_per_class_is_read_at_scrape_time() -> None:
    calls = 0
    snapshot = {"A": 5}

    def by_class() -> dict[str, int]:
        nonlocal calls
        calls += 1
        return snapshot

    registry = CollectorRegistry()
    Metrics.create(registry, by_class)
    assert calls == 0  # registering must not call it

    def enterprises() -> dict[str, float]:
        s = _samples(render(registry).decode())
        return {cls: s[("riskmon_enterprises", frozenset({("class", cls)}))] for cls in "ABCD"}

    assert enterprises() == {"A": 5, "B": 0, "C": 0, "D": 0}
    snapshot = {"A": 4, "D": 1}
    assert enterprises() == {"A": 4, "B": 0, "C": 0, "D": 1}
    assert calls == 2


def test_model_version_is_replaced_not_added() -> None:
    registry = CollectorRegistry()
    m = Metrics.create(registry, dict)
    m.set_model_version("v1")
    m.set_model_version("v2")
    infos = [k for k in _samples(render(registry).decode()) if k[0] == "riskmon_model_info"]
    assert infos == [("riskmon_model_info", frozenset({("version", "v2")}))]


def test_registries_are_independent_and_names_are_claimed_once() -> None:
    r1, r2 = CollectorRegistry(), CollectorRegistry()
    m1 = Metrics.create(r1, dict)
    Metrics.create(r2, dict)
    m1.redis_retries.inc()
    assert _samples(render(r2).decode())[("riskmon_redis_retries_total", frozenset())] == 0
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Metrics.create(r1, dict)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process metrics need /proc")
def test_process_metrics_are_on_the_injected_registry() -> None:
    registry = CollectorRegistry()
    Metrics.create(registry, dict)
    assert _types(render(registry).decode())["process_start_time_seconds"] == "gauge"


def test_promtool_check_metrics_finds_no_problems(metrics_text: str) -> None:
    proc = subprocess.run(
        [promtool(), "check", "metrics"],
        input=metrics_text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
