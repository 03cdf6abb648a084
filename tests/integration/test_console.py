"""The console against the real broker and Redis: the SSE stream resumes with nothing lost and
nothing twice; acknowledgements are idempotent, audited, and survive a console restart."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

import aiohttp
import pytest

from security.roles import Role
from security.store.audit import Chain, recent
from streams.redis_client import connect_async
from streams.settings import Settings
from tests.support.console import (
    USCCS,
    class_changed,
    console_settings,
    make_token,
    publish,
    read_events,
    served,
    task_created,
)
from tests.support.harness import read_topic

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


def _alerts(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        class_changed(USCCS[i % 3], "A", "B", T0 + dt.timedelta(minutes=start + i))
        for i in range(n)
    ]


def _per_subject(docs: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for d in docs:
        out[d["subject"]].append(d["id"])
    return dict(out)


async def test_a_reconnecting_client_gets_every_missed_message_in_order_and_none_twice(
    settings: Settings, kafka_bootstrap: str, redis_url: str
) -> None:
    s = console_settings(settings)
    token = await make_token(s, redis_url, "sse-viewer", Role.VIEWER)
    auth = {"Authorization": f"Bearer {token}"}
    first = [*_alerts(6), task_created(USCCS[0], T0)]
    await publish(kafka_bootstrap, s.alerts_topic, first[:6])
    await publish(kafka_bootstrap, s.tasks_topic, first[6:])
    async with served(s, kafka_bootstrap, redis_url) as (url, _), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/alerts/stream?from=beginning", headers=auth) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            before, cursor = await read_events(resp, 4)
        assert cursor is not None
        # Dropped; more is published while the client is away.
        second = [*_alerts(5, start=100), task_created(USCCS[1], T0)]
        await publish(kafka_bootstrap, s.alerts_topic, second[:5])
        await publish(kafka_bootstrap, s.tasks_topic, second[5:])
        sentinel = class_changed(USCCS[2], "B", "C", T0 + dt.timedelta(days=1))
        headers = {**auth, "Last-Event-ID": cursor}
        async with http.get(f"{url}/alerts/stream", headers=headers) as resp:
            assert resp.status == 200
            after, _ = await read_events(resp, len(first) + len(second) - 4)
            await publish(kafka_bootstrap, s.alerts_topic, [sentinel])
            (next_one,), _ = await read_events(resp, 1)

    seen = [json.loads(f.data or "") for f in before + after]
    ids = [d["id"] for d in seen]
    assert len(ids) == len(set(ids)), "a message came twice"
    assert set(ids) == {d["id"] for d in first + second}, "a message was lost"
    assert json.loads(next_one.data or "")["id"] == sentinel["id"]
    # Each enterprise's messages (one key: one partition) in the order they were published.
    published = _per_subject([d for d in first[:6] + second[:5]])
    got = _per_subject([d for d in seen if d["type"].startswith("riskmon.alert.")])
    assert got == published
    assert all(f.event == json.loads(f.data or "")["type"] for f in before + after)


async def test_a_filtered_stream_resumes_past_what_it_hid(
    settings: Settings, kafka_bootstrap: str, redis_url: str
) -> None:
    s = console_settings(settings)
    token = await make_token(s, redis_url, "sse-tasks", Role.VIEWER)
    await publish(kafka_bootstrap, s.alerts_topic, _alerts(3))
    task = task_created(USCCS[0], T0)
    await publish(kafka_bootstrap, s.tasks_topic, [task])
    async with served(s, kafka_bootstrap, redis_url) as (url, _), aiohttp.ClientSession() as http:
        q = f"{url}/alerts/stream?from=beginning&types=riskmon.task."
        async with http.get(q, headers={"Authorization": f"Bearer {token}"}) as resp:
            (only,), cursor = await read_events(resp, 1)
        assert only.event == "riskmon.task.created"
        later = task_created(USCCS[1], T0)
        await publish(kafka_bootstrap, s.alerts_topic, _alerts(2, start=50))
        await publish(kafka_bootstrap, s.tasks_topic, [later])
        q = f"{url}/alerts/stream?types=riskmon.task.&last_event_id={cursor}"
        async with http.get(q, headers={"Authorization": f"Bearer {token}"}) as resp:
            (again,), _ = await read_events(resp, 1)

    assert json.loads(again.data or "")["id"] == later["id"]


async def test_bad_cursor_or_filter_is_refused_and_credentials_are_needed(
    settings: Settings, kafka_bootstrap: str, redis_url: str
) -> None:
    s = console_settings(settings)
    token = await make_token(s, redis_url, "sse-bad", Role.VIEWER)
    auth = {"Authorization": f"Bearer {token}"}
    async with served(s, kafka_bootstrap, redis_url) as (url, _), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/alerts/stream", headers={**auth, "Last-Event-ID": "x"}) as r:
            assert r.status == 400
        async with http.get(f"{url}/alerts/stream?division=abc", headers=auth) as r:
            assert r.status == 400
        async with http.get(f"{url}/alerts/stream") as r:
            assert r.status == 401
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
        async with http.get(f"{url}/healthz") as r:
            assert r.status == 200


async def _post_ack(
    http: aiohttp.ClientSession, url: str, alert_id: str, token: str, note: str | None = None
) -> tuple[int, Any]:
    body = {} if note is None else {"note": note}
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{url}/alerts/{alert_id}/ack", json=body, headers=headers) as r:
        return r.status, await r.json()


async def test_an_acknowledgement_is_idempotent_audited_and_survives_a_restart(
    settings: Settings, kafka_bootstrap: str, redis_url: str, key_prefix: str
) -> None:
    s = console_settings(settings)
    analyst = await make_token(s, redis_url, "duty-analyst", Role.ANALYST)
    other = await make_token(s, redis_url, "other-analyst", Role.ANALYST)
    viewer = await make_token(s, redis_url, "duty-viewer", Role.VIEWER)
    alerts = _alerts(3)
    await publish(kafka_bootstrap, s.alerts_topic, alerts)
    target = alerts[1]["id"]
    async with served(s, kafka_bootstrap, redis_url) as (url, _), aiohttp.ClientSession() as http:
        status, doc = await _post_ack(http, url, target, analyst, "已电话核实")
        assert (status, doc["created"]) == (201, True)
        assert doc["ack"]["actor"] == "token:duty-analyst"
        assert doc["ack"]["note"] == "已电话核实"
        first_ack = doc["ack"]
        status, doc = await _post_ack(http, url, target, other, "again")
        assert (status, doc["created"], doc["ack"]) == (200, False, first_ack)
        assert (await _post_ack(http, url, "no-such-alert", analyst))[0] == 404
        assert (await _post_ack(http, url, alerts[0]["id"], viewer))[0] == 403
        assert (await _post_ack(http, url, alerts[0]["id"], analyst, "x" * 501))[0] == 400
        # A browser session (the cookie) from another site is refused.
        jar_headers = {"Cookie": f"riskmon_console={analyst}", "Origin": "https://evil.example"}
        async with http.post(f"{url}/alerts/{alerts[0]['id']}/ack", headers=jar_headers) as r:
            assert r.status == 403
        async with http.get(
            f"{url}/alerts?limit=2", headers={"Authorization": f"Bearer {viewer}"}
        ) as r:
            page = await r.json()
        assert [a["event"]["id"] for a in page["alerts"]] == [alerts[2]["id"], target]
        assert page["alerts"][1]["ack"] == first_ack
        assert page["next"] is not None
    acks = read_topic(kafka_bootstrap, s.acks_topic)
    assert len(acks) == 1, "a repeated acknowledgement published again"
    client = connect_async(redis_url)
    try:
        records = await recent(client, Chain.of(key_prefix, "ops"), 10)
    finally:
        await client.aclose()
    assert [(r.actor, r.action, r.target) for r in records] == [
        ("token:duty-analyst", "alert.ack", target)
    ]
    # A new console rebuilds the acknowledgements from the topic.
    async with served(s, kafka_bootstrap, redis_url) as (url, _), aiohttp.ClientSession() as http:
        async with http.get(
            f"{url}/alerts?limit=2&before={page['next']}",
            headers={"Authorization": f"Bearer {viewer}"},
        ) as r:
            rest = await r.json()
        assert [a["event"]["id"] for a in rest["alerts"]] == [alerts[0]["id"]]
        status, doc = await _post_ack(http, url, target, other)
        assert (status, doc["ack"]) == (200, first_ack)
        async with http.get(
            f"{url}/alerts?types=riskmon.alert.class_changed",
            headers={"Authorization": f"Bearer {viewer}"},
        ) as r:
            listed = {a["event"]["id"]: a["ack"] for a in (await r.json())["alerts"]}
        assert listed[target] == first_ack
    assert len(read_topic(kafka_bootstrap, s.acks_topic)) == 1
