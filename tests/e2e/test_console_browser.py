"""The console in a real browser (Debian's headless chromium, driven by Playwright), with a
real worker and ``riskmon console`` as processes on the session's broker and Redis.

What a person on duty would notice: the page loads in Chinese; an event that sends an
enterprise to D shows up in the live feed without a reload; a filter hides what it should;
an acknowledgement (who, when, note) is still there after a reload; and when the console goes
away and comes back, the feed picks up every alert published meanwhile, none twice.
Screenshots are kept (RISKMON_TEST_ARTEFACTS, else the test's tmp dir; the path is printed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from playwright.sync_api import Page, expect

from schemas.codec import encode_event
from security.roles import Role
from streams.settings import Settings
from tests.support.browser import artefacts, chromium
from tests.support.builders import RESTAURANT, event
from tests.support.console import ConsoleProcess, make_token
from tests.support.harness import Worker, read_topic, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PENALISED = "91610112MA6TGQ1K2M"  # Xi'an (610112): a grave food penalty sends it to D
LISTED = "91110108551385082Q"  # Beijing (110108): a serious-violation listing, D
LATE = "91440101MA5CJQ4N59"  # Guangzhou: penalised while the console is down
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=20)
GRAVE = {"decision_number": "P-1", "domain": "food", "fine_cny": 200000.0, "severity": "grave"}
SECONDS = 30_000  # how long the page may take to show a change (ms; a bound, not a measure)


def _send(bootstrap: str, topic: str, events: list[tuple[str, dict[str, Any], int, str]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all")
    try:
        for etype, data, n, uscc in events:
            when = T0 + dt.timedelta(days=n)
            ev = event(etype, data, when=when, subject=uscc, eid=f"e2e-{etype}-{uscc}-{n}")
            producer.send(topic, key=uscc.encode(), value=encode_event(ev))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _row(page: Page, uscc: str, etype: str = "riskmon.alert.class_changed") -> Any:
    return page.locator(f'#feed tr[data-type="{etype}"]', has_text=uscc)


def _shot(page: Page, where: Path, name: str) -> Path:
    path = where / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_the_console_in_a_browser(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    where = artefacts(tmp_path)
    env["RISKMON_ACKS_TOPIC"] = f"{env['RISKMON_REDIS_PREFIX']}.acks"
    worker.env["RISKMON_ACKS_TOPIC"] = env["RISKMON_ACKS_TOPIC"]
    worker.start().wait_ready()
    console = ConsoleProcess(env, tmp_path / "console.log").start()
    settings = Settings(redis_prefix=env["RISKMON_REDIS_PREFIX"], kafka_bootstrap=kafka_bootstrap)
    token = asyncio.run(make_token(settings, redis_url, "duty-officer", Role.ANALYST))
    events_topic = env["RISKMON_EVENTS_TOPIC"]
    _send(
        kafka_bootstrap,
        events_topic,
        [
            ("enterprise.registered", RESTAURANT, 0, PENALISED),
            ("enterprise.registered", {**RESTAURANT, "division_code": "110108"}, 0, LISTED),
            ("enterprise.registered", {**RESTAURANT, "division_code": "440104"}, 0, LATE),
        ],
    )
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            # The login link the demo prints: the token in the fragment, submitted once.
            page.goto(f"{console.url}/login#token={token}")
            expect(page.locator("h1")).to_contain_text("实时预警")
            expect(page.locator("#status")).to_have_text("已连接", timeout=SECONDS)
            assert "token=" not in page.url

            # Live: a penalty sends the enterprise to D; its class change and task appear.
            _send(kafka_bootstrap, events_topic, [("penalty.imposed", GRAVE, 1, PENALISED)])
            expect(_row(page, PENALISED)).to_have_count(1, timeout=SECONDS)
            expect(_row(page, PENALISED, "riskmon.task.created")).to_have_count(1, timeout=SECONDS)
            expect(_row(page, PENALISED).locator(".klass")).to_have_text("D")
            expect(_row(page, PENALISED).locator(".etype")).to_have_text("等级变化")
            listing = {"decision_number": "SV-1", "reason": "fraud"}
            _send(kafka_bootstrap, events_topic, [("serious_violation.added", listing, 1, LISTED)])
            expect(_row(page, LISTED)).to_have_count(1, timeout=SECONDS)

            # Acknowledge the first with a note; a reload still shows who, when and the note.
            _row(page, PENALISED).locator("button.ack-button").click()
            _row(page, PENALISED).locator("input.ack-input").fill("已通知属地监管所")
            _row(page, PENALISED).locator("button.ack-confirm").click()
            expect(_row(page, PENALISED).locator(".ack-actor")).to_have_text("token:duty-officer")
            page.reload()
            acked = _row(page, PENALISED).locator(".acked")
            expect(acked).to_contain_text("token:duty-officer")
            expect(acked.locator(".ack-note")).to_have_text("已通知属地监管所")
            shot = _shot(page, where, "feed")

            # Filters: only tasks; then only Beijing's division (a class change has no
            # division of its own: the console looks up the enterprise's registration).
            page.select_option("#f-type", "riskmon.task.")
            page.click("#filters button[type=submit]")
            expect(_row(page, PENALISED, "riskmon.task.created")).to_have_count(1)
            expect(page.locator('#feed tr[data-type="riskmon.alert.class_changed"]')).to_have_count(
                0
            )
            page.goto(f"{console.url}/?division=110108")
            expect(_row(page, LISTED)).to_have_count(1)
            expect(_row(page, PENALISED)).to_have_count(0)
            _shot(page, where, "filtered")

            # The enterprise page: class, its change, the contribution and the open task.
            page.goto(f"{console.url}/enterprises/{PENALISED}")
            expect(page.locator("#class")).to_have_text("D")
            expect(page.locator("#history tbody tr")).to_have_count(1)
            penalty = page.locator("#contributions tbody tr", has_text="P-1")
            expect(penalty).to_have_count(1)
            expect(penalty.locator(".points")).not_to_have_text("0.0")
            expect(page.locator("#tasks tbody tr")).to_have_count(1)
            # The regions table: Xi'an's division holds the enterprise now in D.
            page.goto(f"{console.url}/areas/regions")
            xian = page.locator("#areas tbody tr", has_text="610112")
            expect(xian).to_have_count(1, timeout=SECONDS)
            expect(xian.locator("td").nth(5)).to_have_text("1")  # code, all, A, B, C, D
            _shot(page, where, "regions")
            page.goto(f"{console.url}/?lang=en")
            expect(page.locator("h1")).to_contain_text("Live feed")
            _shot(page, where, "feed-en")

            # A forced disconnect: the console stops; an alert is published meanwhile; the
            # console comes back on its port and the page's EventSource resumes from its
            # Last-Event-ID: the missed alert appears, and nothing came twice.
            expect(page.locator("#status")).to_have_text("Connected", timeout=SECONDS)
            console.stop()
            expect(page.locator("#status")).to_have_text("Reconnecting", timeout=SECONDS)
            _send(kafka_bootstrap, events_topic, [("penalty.imposed", GRAVE, 2, LATE)])
            wait_for(
                lambda: any(
                    r.key == LATE.encode()
                    for r in read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])
                ),
                60,
                what="the worker's alert while the console is down",
            )
            console.start()
            expect(_row(page, LATE)).to_have_count(1, timeout=SECONDS)
            expect(_row(page, LATE, "riskmon.task.created")).to_have_count(1, timeout=SECONDS)
            received = page.evaluate("window.riskmonReceived")
            assert len(received) == len(set(received)), "an event came twice"
            # Every message on the topics is on the page (rendered first, or received live).
            published = {
                json.loads(r.value or b"{}")["id"]
                for topic in ("RISKMON_ALERTS_TOPIC", "RISKMON_TASKS_TOPIC")
                for r in read_topic(kafka_bootstrap, env[topic])
            }
            shown = page.eval_on_selector_all(
                "#feed tbody tr", "rows => rows.map(r => r.dataset.id)"
            )
            assert sorted(shown) == sorted(published)
            print(f"screenshots in {where}; the feed: {shot}")
    finally:
        console.stop()
