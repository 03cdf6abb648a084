"""What the rule for time decides for a late event, end to end. A firm is fined (A -> B); an event
300 days later raises its partition's watermark past the moment the fine stops counting, so the
B -> A change is made first, as of that moment, caused by time; then an abnormal-list entry
dated 100 days after the fine (when the fine still counted) arrives, late. It scores by its own
time like any event (the listing counts from its date), moves the firm to C, and its alert
names it as the cause, stamped with the state's as-of time (the newest event time the firm has
seen). Nothing already sent is rewritten: the B -> A alert stays, and no alert revises the
history before it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from schemas.codec import encode_event
from schemas.events import TICKER_SOURCE
from scoring.model import load_model
from tests.support.builders import RESTAURANT, event
from tests.support.eventlog import LogRecord
from tests.support.harness import Worker, read_topic, wait_for
from tests.support.observe import observed
from tests.support.oracle import reference
from tests.support.scenario import Published

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

USCC = "91610112MA6TGQ1K2M"
FINED = dt.datetime(2025, 3, 1, 2, tzinfo=dt.UTC)


def day(n: int) -> dt.datetime:
    return FINED + dt.timedelta(days=n)


def late_log() -> list[LogRecord]:
    fine = {"decision_number": "D1", "domain": "food", "fine_cny": 50_000, "severity": "ordinary"}
    complaint = {"channel": "12315_hotline", "category": "quality"}
    listing = {"decision_number": "L1", "reason": "unreachable_at_address"}
    return [
        LogRecord(USCC.encode(), encode_event(ev))
        for ev in (
            event("enterprise.registered", RESTAURANT, when=day(-1), eid="registered"),
            event("penalty.imposed", fine, when=day(0), eid="fined"),
            event("complaint.received", complaint, when=day(300), eid="complaint"),
            event("abnormal_list.added", listing, when=day(100), eid="listed-late"),
        )
    ]


def test_a_late_event_scores_by_its_time_and_rewrites_nothing_already_sent(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str
) -> None:
    log = Published(kafka_bootstrap, env)
    log.send(late_log())
    expected = reference(log.records, load_model(), int(env["RISKMON_PARTITIONS"]))
    [(uscc, due)] = expected.fired
    # the fine stops counting after the listing's date, before the complaint's
    assert uscc == USCC and day(100).timestamp() < due < day(300).timestamp()
    worker.start().wait_ready()

    def sent() -> list[dict[str, Any]]:
        return [
            orjson.loads(r.value)["data"]
            for r in read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])
        ]

    alerts = wait_for(lambda: len(a := sent()) >= 3 and a, 60, what="three alerts")
    summary = [
        (a["old_class"], a["new_class"], a["cause"]["id"], dt.datetime.fromisoformat(a["asof"]))
        for a in alerts
    ]
    assert summary == [
        ("A", "B", "fined", day(0)),
        ("B", "A", f"{USCC}@{due}", dt.datetime.fromtimestamp(due, dt.UTC)),
        ("A", "C", "listed-late", day(300)),  # the late event, as of the firm's newest time
    ]
    assert alerts[1]["cause"]["source"] == TICKER_SOURCE
    assert observed(kafka_bootstrap, env)[0] == expected.alert_ids  # and only those
