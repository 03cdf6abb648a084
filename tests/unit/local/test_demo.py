"""The demo's dashboard and feeder say what they show: fed events apart from the ticker's
re-evaluations, the class changes time alone made, and when the history is fed and the district
goes live at the slower rate."""

from __future__ import annotations

import datetime as dt
import threading

import orjson
import pytest
from prometheus_client import CollectorRegistry

from api.metrics import render
from district.generator import DistrictSpec
from local.dashboard import Dashboard
from local.feed import DistrictFeed
from streams.metrics import Metrics
from streams.settings import Settings
from supervision.discovery import discovery, parse_counts

SPEC = DistrictSpec(now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), enterprises=10)


def feed(live_rate: float = 20.0) -> DistrictFeed:
    return DistrictFeed(SPEC, "127.0.0.1:9", "riskmon.events", 500.0, live_rate, threading.Event())


def test_processed_is_shown_as_fed_events_plus_the_ticker_s_re_evaluations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RISKMON_WEB_PORT", raising=False)
    board = Dashboard(Settings(), "http://127.0.0.1:6066", None, None)
    board.fed, board.events_total, board.reevaluations = 1_000, 1_003.0, 3.0
    board.time_driven = 250.0  # most made by fed events' time, not by the ticker's records
    board.phase = feed().phase()
    first, second = board.render(12.0).splitlines()[:2]
    assert "fed 1,000 events   processed 1,000 + 3 ticker re-evaluations" in first
    assert "   250 time-driven changes   " in first
    assert second.strip() == "feeding the district's history at 500 events/s (--rate)"


def test_the_counts_are_read_from_the_worker_s_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RISKMON_WEB_PORT", raising=False)
    registry = CollectorRegistry()
    m = Metrics.create(registry, dict)
    m.events.labels(type="penalty.imposed", outcome="applied").inc(40)
    m.events.labels(type="riskmon.reevaluate", outcome="applied").inc(2)
    m.time_driven_changes.inc(7)
    board = Dashboard(Settings(), "http://127.0.0.1:6066", None, None)
    monkeypatch.setattr(
        board, "_get", lambda path: render(registry) if path == "/metrics" else None
    )
    board._metrics()
    assert (board.events_total, board.reevaluations, board.time_driven) == (42.0, 2.0, 7.0)


def test_the_feed_says_when_the_history_is_fed_and_how_fast_it_goes_on() -> None:
    f = feed()
    f.history = (12_345, 24.6)
    assert f.phase() == "history fed: 12,345 events in 25 s; now live at 20 events/s (--live-rate)"
    g = feed(live_rate=0)
    g.history = (10, 1.0)
    assert g.phase().endswith("no live events (--live-rate 0)")


def test_the_discovery_table_is_read_from_the_api_and_shown_per_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RISKMON_WEB_PORT", raising=False)
    counts = {"A|no_problem": 12, "C|problems_found": 3, "C|corrected": 1, "C|no_problem": 6}
    rows = discovery(parse_counts(counts))  # what GET /stats/discovery serves
    body = orjson.dumps({"confidence": 0.95, "classes": {r.klass: r.as_json() for r in rows}})
    board = Dashboard(Settings(), "http://127.0.0.1:6066", None, None)
    monkeypatch.setattr(board, "_get", lambda path: body if path == "/stats/discovery" else None)
    board._discovery()
    board.plans = "3 plans, 40 tasks, 22 inspected; newest plan P-1: 14 tasks (henan-2021)"
    assert board.discovery_line() == "A=0/12 B=0/0 C=4/10 D=0/0"
    shown = board.render(1.0)
    assert "  3 plans, 40 tasks, 22 inspected; newest plan P-1: 14 tasks (henan-2021)" in shown
    # the table `riskmon tasks discovery` prints
    assert "  class  inspected  problems      rate  95 % interval\n" in shown
    assert "  A             12         0     0.0 %  0.0 % - 24.2 %\n" in shown
    assert "  B              0         0         -  -\n" in shown
    assert "  C             10         4    40.0 %  16.8 % - 68.7 %\n" in shown
