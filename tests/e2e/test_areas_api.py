"""End to end, with a worker, the real broker and Redis: regional and industry counts through
the API. Enterprises registered in two divisions, two of them put in D and C by listings, one
classified before its registration arrives; GET /regions, /industries and /regions/{code}
show them where they are, and the worker's log holds no error from its area ticker."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kafka import KafkaProducer

from schemas.codec import encode_event
from tests.support.builders import RESTAURANT, event
from tests.support.harness import Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

LISTED = "91110108551385082Q"  # D by a serious-violation listing, in 610112
ABNORMAL = "91610112MA6TGQ1K2M"  # C by the abnormal list, before its registration (610113)
PLAIN = "91440101MA5CJQ4N59"  # A, in 610112
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)


def _send(bootstrap: str, topic: str, events: list[tuple[str, dict[str, Any], str]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all")
    try:
        for i, (etype, data, uscc) in enumerate(events):
            ev = event(etype, data, when=T0 + dt.timedelta(hours=i), subject=uscc, eid=f"a-{i}")
            producer.send(topic, key=uscc.encode(), value=encode_event(ev))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _row(worker: Worker, path: str, code: str) -> dict[str, Any] | None:
    status, doc = worker.get(path)
    assert status == 200, doc
    return next((r for r in doc["areas"] if r["code"] == code), None)


def test_regions_and_industries_through_the_api(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str
) -> None:
    worker.start().wait_ready()
    there = {**RESTAURANT, "division_code": "610112", "industry_code": "H6210"}
    elsewhere = {**RESTAURANT, "division_code": "610113", "industry_code": "F5191"}
    _send(
        kafka_bootstrap,
        env["RISKMON_EVENTS_TOPIC"],
        [
            ("enterprise.registered", there, LISTED),
            ("enterprise.registered", there, PLAIN),
            ("serious_violation.added", {"decision_number": "S-1", "reason": "fraud"}, LISTED),
            (
                "abnormal_list.added",
                {"decision_number": "A-1", "reason": "unreachable_at_address"},
                ABNORMAL,
            ),
            ("enterprise.registered", elsewhere, ABNORMAL),
        ],
    )
    row = wait_for(
        lambda: (r := _row(worker, "/regions", "610113")) and r["by_class"]["C"] == 1 and r,
        60,
        what="the late-registered enterprise in 610113",
    )
    assert row["enterprises"] == 1 and row["cd_share"] == 1.0
    here = _row(worker, "/regions", "610112")
    assert here is not None
    assert here["by_class"] == {"A": 1, "B": 0, "C": 0, "D": 1}
    assert here["d_entries_7d"] == 1 and here["cd_share"] == 0.5
    # moved out of ``unknown`` once its profile came; its entry into C stays where it was made
    unknown = _row(worker, "/regions", "unknown")
    assert unknown is not None
    assert (unknown["enterprises"], unknown["c_entries_7d"]) == (0, 1)
    industry = _row(worker, "/industries", "H62")
    assert industry is not None and industry["by_class"]["D"] == 1
    status, page = worker.get("/regions/610112?limit=10")
    assert status == 200
    assert page["enterprises"] == [{"uscc": LISTED, "class": "D"}]
    assert page["next_cursor"] is None
    assert worker.get("/regions/61011")[0] == 400
    assert "area counts not read" not in worker.log_path.read_text(errors="replace")
