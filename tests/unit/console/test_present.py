from __future__ import annotations

from console.index import Ack
from console.present import row


def test_a_class_change_row() -> None:
    doc = {
        "id": "a1",
        "type": "riskmon.alert.class_changed",
        "subject": "91610112MA6TGQ1K2M",
        "time": "2026-11-01T09:00:00+00:00",
        "data": {"old_class": "B", "new_class": "D"},
    }
    r = row(doc, None, can_ack=True)
    assert (r["class"], r["summary"], r["can_ack"], r["is_enterprise"]) == (
        "D",
        "B → D",
        True,
        True,
    )


def test_an_area_warning_row_names_its_area_and_a_task_cannot_be_acknowledged() -> None:
    region = {
        "id": "r",
        "type": "riskmon.alert.region",
        "subject": "division:610112",
        "data": {"rule": "cd-share", "severity": "warning"},
    }
    r = row(region, Ack("r", "token:li", "", "t"), can_ack=True)
    assert (r["division"], r["severity"], r["is_enterprise"]) == ("610112", "warning", False)
    assert r["ack"] == {"alert_id": "r", "actor": "token:li", "note": "", "time": "t"}
    task = {
        "id": "t",
        "type": "riskmon.task.created",
        "subject": "91610112MA6TGQ1K2M",
        "data": {"trigger": "class_d", "risk_class": "D"},
    }
    assert not row(task, None, can_ack=True)["can_ack"]
    assert not row(region, None, can_ack=False)["can_ack"]
