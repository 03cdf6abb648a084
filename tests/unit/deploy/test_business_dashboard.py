"""deploy/grafana/riskmon-business.json, the warning centre's dashboard: importable, its PromQL
parses (promtool), it queries only metrics riskmon exports (the worker, its area ticker, the
console and the delivery), and it is provisioned from files beside the operations dashboard."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from console.metrics import ConsoleMetrics
from streams.centre_metrics import AreaMetrics, DeliveryMetrics
from streams.metrics import Metrics
from tests.support.dashboards import (
    base_family,
    dashboard_exprs,
    exported_types,
    grafana_to_promql,
    metric_names,
    read_dashboard,
)
from tests.support.promtool import promtool

GRAFANA = Path(__file__).resolve().parents[3] / "deploy" / "grafana"
BUSINESS = GRAFANA / "riskmon-business.json"
OPERATIONS = GRAFANA / "riskmon-dashboard.json"
PROVISIONING = GRAFANA / "provisioning" / "riskmon-dashboards.yml"


def types() -> dict[str, str]:
    """Every family the worker, its area ticker, the console and the delivery export."""
    registry = CollectorRegistry()
    Metrics.create(registry, dict)
    AreaMetrics.create(registry, lambda: [("division", "610112", {"A": 1})], ["division-cd"])
    ConsoleMetrics(registry, lambda: (1, 2))
    DeliveryMetrics.create(registry, ["duty-desk"])
    return exported_types(registry)


def test_it_queries_only_exported_metrics() -> None:
    doc = read_dashboard(BUSINESS)
    known = types()
    used = {base_family(n, known) for e in dashboard_exprs(doc) for n in metric_names(e)}
    for var in doc["templating"]["list"]:
        if var["type"] == "query":
            m = re.match(r"label_values\(\s*([A-Za-z_:][\w:]*)", var["query"]["query"])
            assert m, var["query"]
            used.add(m.group(1))
    assert used - set(known) == set()
    # Every view the issue asks for is there.
    assert used >= {
        "riskmon_area_enterprises",
        "riskmon_warnings_total",
        "riskmon_area_warnings_total",
        "riskmon_console_alerts",
        "riskmon_console_ack_seconds",
        "riskmon_webhook_deliveries_total",
        "riskmon_webhook_outbox",
        "riskmon_alertmanager_posts_total",
    }


def test_the_delivery_metrics_are_exported_as_the_dashboard_reads_them() -> None:
    known = types()
    assert known["riskmon_webhook_deliveries_total"] == "counter"
    assert known["riskmon_webhook_outbox"] == "gauge"
    assert known["riskmon_webhook_delivery_seconds"] == "histogram"
    assert known["riskmon_alertmanager_posts_total"] == "counter"


def test_class_shares_are_per_division_and_industry_and_never_summed_across_workers() -> None:
    exprs = [
        e for e in dashboard_exprs(read_dashboard(BUSINESS)) if "riskmon_area_enterprises" in e
    ]
    kinds = {k for e in exprs for k in re.findall(r'kind="(\w+)"', e)}
    assert kinds == {"division", "industry"}
    # Every worker reports the whole population: each selection is deduplicated with max.
    for e in exprs:
        assert e.count("riskmon_area_enterprises") == e.count("max by (code, class) (")


def test_it_is_importable_beside_the_operations_dashboard() -> None:
    doc = read_dashboard(BUSINESS)
    assert doc["uid"] == "riskmon-business" and doc["title"]
    assert doc["uid"] != read_dashboard(OPERATIONS)["uid"]
    assert isinstance(doc["schemaVersion"], int)
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    assert {v["name"] for v in doc["templating"]["list"]} >= {"datasource", "job"}
    for p in doc["panels"]:
        assert set(p["gridPos"]) == {"x", "y", "w", "h"}
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        for t in p.get("targets", []):
            assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert t["refId"]


def test_its_exprs_are_valid_promql(tmp_path: Path) -> None:
    exprs = dashboard_exprs(read_dashboard(BUSINESS))
    rules = {
        "groups": [
            {
                "name": "business",
                "rules": [
                    {"record": f"business:expr{i}", "expr": grafana_to_promql(e)}
                    for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "business-rules.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")
    proc = subprocess.run(
        [promtool(), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in proc.stdout


def test_both_dashboards_are_provisioned_from_one_folder() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed")
    cfg = yaml.safe_load(PROVISIONING.read_text(encoding="utf-8"))
    assert cfg["apiVersion"] == 1
    (provider,) = cfg["providers"]
    assert provider["type"] == "file"
    folder = provider["options"]["path"]
    text = PROVISIONING.read_text(encoding="utf-8")
    # The install line the file documents puts both dashboards in that folder.
    for dashboard in (BUSINESS, OPERATIONS):
        assert f"deploy/grafana/{dashboard.name}" in text
    assert f"-t {folder}/" in text
