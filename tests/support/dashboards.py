"""Reading Grafana dashboards and PromQL the way the deploy tests check them: the metric names
an expression selects, histogram series back to their family, the families a registry
exports, and Grafana's variables replaced so that promtool can parse an expression."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from api.metrics import render

__all__ = [
    "base_family",
    "dashboard_exprs",
    "exported_types",
    "grafana_to_promql",
    "metric_names",
    "read_dashboard",
]

_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# PromQL words that look like identifiers but are not metric names.
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def exported_types(registry: CollectorRegistry) -> dict[str, str]:
    """Family name → type, as a scrape of ``registry`` shows them."""
    types: dict[str, str] = {}
    for line in render(registry).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, mtype = line.split(" ")
            types[name] = mtype
    return types


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL expression (functions, labels, keywords removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(_GROUPING, "", e)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([A-Za-z_:][\w:]*)(\s*\()?", e):
        if m.group(2) is None and m.group(1).lower() not in _KEYWORDS:
            names.add(m.group(1))
    return names


def base_family(name: str, types: dict[str, str]) -> str:
    """``name`` without a histogram's ``_bucket``/``_sum``/``_count`` when its family is one."""
    for suffix in _HISTOGRAM_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and types.get(base) == "histogram":
            return base
    return name


def read_dashboard(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def dashboard_exprs(doc: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]


def grafana_to_promql(expr: str) -> str:
    """Substitute the dashboard's variables so the expression can be parsed by promtool."""
    return (
        expr.replace("$__rate_interval", "5m")
        .replace("$__range", "1d")
        .replace("$job", "riskmon")
        .replace("$instance", ".*")
    )
