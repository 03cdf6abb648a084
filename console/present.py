"""How a message shows in the feed: its row's fields, the same on the first rendering (here)
and for live events (``console/static/console.js`` computes them alike). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.index import Ack

__all__ = ["row"]


def _data(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    data = doc.get("data")
    return data if isinstance(data, Mapping) else {}


def row(doc: Mapping[str, Any], ack: Ack | None, can_ack: bool) -> dict[str, Any]:
    """The fields of a feed row for ``doc`` (a CloudEvent): id, type, time, subject, whether
    the subject is an enterprise, class, severity, division, industry, a short summary, the
    acknowledgement and whether it may be acknowledged (an alert, by an analyst or above)."""
    data = _data(doc)
    etype = str(doc.get("type", ""))
    subject = str(doc.get("subject", ""))
    klass = data.get("new_class") or data.get("risk_class") or ""
    if etype == "riskmon.alert.class_changed":
        summary = f"{data.get('old_class') or '-'} → {data.get('new_class', '?')}"
    elif etype in ("riskmon.alert.warning", "riskmon.alert.region", "riskmon.alert.industry"):
        summary = str(data.get("rule", ""))
    elif etype.startswith("riskmon.task."):
        summary = f"{data.get('trigger', '')} {data.get('state', '')}".strip()
    else:
        summary = ""
    kind, _, code = subject.partition(":")
    return {
        "id": str(doc.get("id", "")),
        "type": etype,
        "time": str(doc.get("time", "")),
        "subject": subject,
        "is_enterprise": kind not in ("division", "industry"),
        "class": str(klass),
        "severity": str(data.get("severity", "")),
        "division": str(data.get("division") or (code if kind == "division" else "")),
        "industry": str(data.get("industry") or (code if kind == "industry" else "")),
        "summary": summary,
        "ack": None if ack is None else ack.to_json(),
        "can_ack": can_ack and etype.startswith("riskmon.alert."),
    }
