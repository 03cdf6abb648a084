from __future__ import annotations

import datetime as dt
from typing import Any

from console.index import ACK_TYPE, AlertIndex, ack_envelope, ack_id

T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


def alert(n: int, uscc: str = "91610112MA6TGQ1K2M", minutes: int | None = None) -> dict[str, Any]:
    when = T0 + dt.timedelta(minutes=n if minutes is None else minutes)
    return {
        "id": f"a{n}",
        "type": "riskmon.alert.class_changed",
        "subject": uscc,
        "time": when.isoformat(),
        "data": {"uscc": uscc, "old_class": "A", "new_class": "B"},
    }


def ack(alert_id: str, actor: str, minutes: int) -> dict[str, Any]:
    return ack_envelope(alert_id, actor, "note", (T0 + dt.timedelta(minutes=minutes)).isoformat())


def test_alerts_are_listed_newest_first_and_paged_without_a_gap_or_a_repeat() -> None:
    index = AlertIndex()
    for n in (3, 1, 4, 0, 2):  # read out of time order (several partitions)
        index.add_alert(alert(n))
    first, more = index.page(limit=2)
    assert [e.id for e in first] == ["a4", "a3"]
    second, more = index.page(limit=2, before=more)
    third, last = index.page(limit=2, before=more)
    assert [e.id for e in second + third] == ["a2", "a1", "a0"]
    assert last is None


def test_since_and_a_type_filter_narrow_the_listing() -> None:
    index = AlertIndex()
    for n in range(5):
        index.add_alert(alert(n))
    index.add_alert({**alert(9), "type": "riskmon.alert.warning"})
    since = int((T0 + dt.timedelta(minutes=3)).timestamp() * 1_000_000)
    recent, _ = index.page(limit=10, since_us=since)
    assert [e.id for e in recent] == ["a9", "a4", "a3"]
    changes, _ = index.page(limit=10, admits=lambda e: e.type.endswith("class_changed"))
    assert "a9" not in [e.id for e in changes]


def test_a_redelivered_alert_is_kept_once() -> None:
    index = AlertIndex()
    assert index.add_alert(alert(1)) is not None
    assert index.add_alert(alert(1)) is None
    assert len(index) == 1


def test_the_index_keeps_the_newest_alerts_up_to_its_bound() -> None:
    index = AlertIndex(max_alerts=3)
    for n in range(5):
        index.add_alert(alert(n))
    assert index.add_alert(alert(-1)) is None  # older than every kept one
    assert [e.id for e in index.page(limit=10)[0]] == ["a4", "a3", "a2"]


def test_the_first_acknowledgement_wins_and_is_timed_once() -> None:
    delays: list[float] = []
    index = AlertIndex(on_acked=delays.append)
    index.add_alert(alert(0))
    first = index.add_ack(ack("a0", "token:li", 30))
    assert first is not None and first.actor == "token:li"
    assert index.add_ack(ack("a0", "token:wang", 31)) is None
    assert index.ack_of("a0") == first
    assert delays == [1800.0]
    assert index.counts() == (0, 1)


def test_an_acknowledgement_read_before_its_alert_applies_when_the_alert_comes() -> None:
    delays: list[float] = []
    index = AlertIndex(on_acked=delays.append)
    index.add_ack(ack("a5", "token:li", 10))
    index.add_alert(alert(5))
    assert index.ack_of("a5") is not None
    assert delays == [300.0]


def test_an_acknowledgement_id_is_derived_from_the_alert() -> None:
    doc = ack_envelope("a0", "token:li", "x" * 900, T0.isoformat())
    assert doc["id"] == ack_id("a0") == ack_envelope("a0", "token:zhao", "", "t")["id"]
    assert doc["type"] == ACK_TYPE
    assert len(doc["data"]["note"]) == 500


def test_the_class_history_of_an_enterprise() -> None:
    index = AlertIndex()
    index.add_alert(alert(2))
    index.add_alert(alert(1))
    index.add_alert(alert(3, uscc="91110108551385082Q"))
    assert [e.id for e in index.history("91610112MA6TGQ1K2M")] == ["a1", "a2"]
