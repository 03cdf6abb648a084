"""deploy/: Prometheus config and rules pass promtool, and the dashboard and rules only query
metrics that riskmon actually exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics
from streams.settings import Settings
from tests.support import dashboards
from tests.support.dashboards import base_family, dashboard_exprs, grafana_to_promql, metric_names
from tests.support.promtool import promtool

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "riskmon-rules.yml"
RULES_TESTS = DEPLOY / "prometheus" / "riskmon-rules.test.yml"
DASHBOARD = DEPLOY / "grafana" / "riskmon-dashboard.json"
UNIT = DEPLOY / "systemd" / "riskmon.service"

# Series Prometheus makes up itself for every target.
SYNTHETIC = {"up"}


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, check=False
    )


def exported_types() -> dict[str, str]:
    """Family name → type, as a scrape of a freshly created :class:`Metrics` shows them."""
    registry = CollectorRegistry()
    Metrics.create(registry, dict)
    return dashboards.exported_types(registry)


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return doc


# --- the metric-name parser itself ------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (outcome) (rate(riskmon_events_total{job="$job"}[$__rate_interval]))',
            {"riskmon_events_total"},
        ),
        (
            "histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket[5m])))",
            {"a_seconds_bucket"},
        ),
        ("time() - (a > b or c) > 600", {"a", "b", "c"}),
        ('count by (job) (x{version=~"v1|v2"}) > 1 and on (job) y', {"x", "y"}),
        ("rate(x[1h] offset 1d) / 1e3", {"x"}),
    ],
)
def test_metric_names_parser(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


# --- Prometheus ---------------------------------------------------------------------------------


def test_prometheus_config_passes_promtool_and_loads_the_rules() -> None:
    proc = run_promtool("check", "config", str(PROMETHEUS_YML))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 1 rule files found" in proc.stdout


def test_prometheus_scrapes_metrics_on_the_default_web_port() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed")
    cfg = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    assert cfg["rule_files"] == [RULES.name]
    (job,) = [j for j in cfg["scrape_configs"] if j["job_name"] == "riskmon"]
    assert job["metrics_path"] == "/metrics"
    port = Settings.model_fields["web_port"].default
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert targets and all(t.endswith(f":{port}") for t in targets)


def test_rules_pass_promtool_check() -> None:
    proc = run_promtool("check", "rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_rules_fire_as_their_unit_tests_expect() -> None:
    proc = run_promtool("test", "rules", str(RULES_TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rules_query_only_exported_metrics() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed")
    types = exported_types()
    rules = [
        r for g in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for r in g["rules"]
    ]
    used = {base_family(n, types) for r in rules for n in metric_names(r["expr"])}
    assert used - set(types) - SYNTHETIC == set()
    assert {r["alert"] for r in rules} >= {
        "RiskmonConsumerStalled",
        "RiskmonDeadLetterRatioHigh",
        "RiskmonProcessingLatencyHigh",
        "RiskmonEventTimeLagHigh",
        "RiskmonRedisRetrying",
    }


# --- Grafana ------------------------------------------------------------------------------------


def test_dashboard_queries_only_exported_metrics() -> None:
    doc = dashboard()
    types = exported_types()
    used = {base_family(n, types) for e in dashboard_exprs(doc) for n in metric_names(e)}
    for var in doc["templating"]["list"]:
        if var["type"] == "query":
            m = re.match(r"label_values\(\s*([A-Za-z_:][\w:]*)", var["query"]["query"])
            assert m, var["query"]
            used.add(m.group(1))
    assert used - set(types) == set()
    # Every view the dashboard promises is there.
    assert used >= {
        "riskmon_events_total",
        "riskmon_dead_letters_total",
        "riskmon_processing_latency_seconds",
        "riskmon_enterprises",
        "riskmon_class_transitions_total",
        "riskmon_time_driven_changes_total",
        "riskmon_alerts_total",
        "riskmon_tasks_total",
        "riskmon_event_time_lag_seconds",
    }


def test_dashboard_latency_panel_shows_p50_p95_p99() -> None:
    exprs = dashboard_exprs(dashboard())
    quantiles = {
        m.group(1)
        for e in exprs
        if "riskmon_processing_latency_seconds_bucket" in e
        for m in [re.match(r"histogram_quantile\((0\.\d+),", e)]
        if m
    }
    assert quantiles == {"0.5", "0.95", "0.99"}


def test_dashboard_is_importable_shape() -> None:
    doc = dashboard()
    assert doc["uid"] and doc["title"] and isinstance(doc["schemaVersion"], int)
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    names = {v["name"] for v in doc["templating"]["list"]}
    assert names >= {"datasource", "job", "instance"}
    for p in doc["panels"]:
        assert set(p["gridPos"]) == {"x", "y", "w", "h"}
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        for t in p.get("targets", []):
            assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert t["refId"]


def test_dashboard_exprs_are_valid_promql(tmp_path: Path) -> None:
    # promtool parses the PromQL of recording rules; there is no offline "check query".
    exprs = dashboard_exprs(dashboard())
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:expr{i}", "expr": grafana_to_promql(e)}
                    for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")  # JSON is YAML
    proc = run_promtool("check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in proc.stdout


# --- systemd ------------------------------------------------------------------------------------


def _unit_entries() -> list[tuple[str, str, str]]:
    section, out = "", []
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key, value))
    return out


def test_systemd_unit_runs_riskmon_hardened_from_an_environment_file() -> None:
    entries = _unit_entries()
    service = {(k, v) for s, k, v in entries if s == "Service"}
    assert ("DynamicUser", "yes") in service
    assert ("ProtectSystem", "strict") in service
    assert ("Restart", "on-failure") in service
    assert any(k == "EnvironmentFile" for k, _ in service)
    (exec_start,) = [v for k, v in service if k == "ExecStart"]
    assert exec_start.endswith("riskmon run")
    pre = " ".join(v for k, v in service if k == "ExecStartPre")
    assert "RISKMON_KAFKA_BOOTSTRAP" in pre and "RISKMON_REDIS_URL" in pre


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    # verify insists that ExecStart exists; the riskmon venv is not installed here.
    text = UNIT.read_text(encoding="utf-8")
    unit = tmp_path / "riskmon.service"
    unit.write_text(re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", text, flags=re.M))
    proc = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
