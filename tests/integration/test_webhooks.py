"""Webhooks end to end: messages published on a real broker's alerts topic reach a real local
receiver, signed per Standard Webhooks and verified there; a receiver taken down and brought
back loses nothing and gets nothing twice; a receiver that never answers ends dead; the
deliveries are visible through GET /webhooks/deliveries with no secret in them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.sinks.outbox import DeliveryRecord
from alerts.webhooks_config import Subscriber, WebhooksConfig, load
from api.http import Request
from api.webhooks import list_deliveries
from jobs.deliver import Delivery, run
from schemas.codec import loads
from streams.centre_metrics import DeliveryMetrics
from streams.redis_client import connect_async
from streams.settings import Settings
from streams.topics import TopicSpec, ensure_topics
from tests.support.alert_messages import (
    area_warning,
    class_changed,
    eventually,
    publish,
    warning,
)
from tests.support.receiver import Receiver, new_secret
from tests.support.tasks import usccs

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

U = usccs(6, seed=18)
FAST = {"first_retry_seconds": 0.3, "max_retry_seconds": 1.0, "timeout_seconds": 2.0}


def subscriber(sid: str, url: str, secret: str, types: set[str], **kw: Any) -> Subscriber:
    return Subscriber.model_validate(
        {"id": sid, "url": url, "secret": secret, "types": types, **FAST, **kw}
    )


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = connect_async(redis_url)
    yield c
    await c.aclose()


@pytest.fixture
def alerts_topic(kafka_bootstrap: str, topic_prefix: str) -> str:
    topic = f"{topic_prefix}.alerts"
    ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    return topic


def delivery(
    client: aioredis.Redis,
    key_prefix: str,
    bootstrap: str,
    topic: str,
    config: WebhooksConfig,
    metrics: DeliveryMetrics | None = None,
) -> Delivery:
    return Delivery(
        redis=client,
        prefix=key_prefix,
        config=config,
        bootstrap=bootstrap,
        group_id=key_prefix,
        topics=[topic],
        alertmanager_url=None,
        console="http://127.0.0.1:6067",
        partitions=8,
        metrics=metrics,
        start_from="earliest",
        poll_seconds=0.1,
    )


async def all_deliveries(d: Delivery, **filters: Any) -> list[DeliveryRecord]:
    page = await d.outbox.deliveries(limit=500, **filters)
    return list(page.deliveries)


def by_id(records: Sequence[DeliveryRecord]) -> dict[tuple[str, str], DeliveryRecord]:
    return {(r.subscriber, r.message_id): r for r in records}


async def test_signed_deliveries_survive_a_receiver_outage_once_each(
    kafka_bootstrap: str, client: aioredis.Redis, key_prefix: str, alerts_topic: str
) -> None:
    desk_secret, areas_secret = new_secret(), new_secret()
    receiver = await Receiver({"desk": desk_secret, "areas": areas_secret}).up()
    config = WebhooksConfig(
        subscriber=(
            subscriber(
                "desk",
                receiver.url("desk"),
                desk_secret,
                {"riskmon.alert.warning", "riskmon.alert.class_changed"},
                min_severity="warning",
            ),
            subscriber("areas", receiver.url("areas"), areas_secret, {"riskmon.alert.region"}),
        )
    )
    registry = CollectorRegistry()
    metrics = DeliveryMetrics.create(registry, ["desk", "areas"])
    d = delivery(client, key_prefix, kafka_bootstrap, alerts_topic, config, metrics)
    critical = warning(U[0], severity="critical", n=1)
    info = warning(U[1], severity="info", n=2)  # below the desk's minimum
    to_d = class_changed(U[2], n=3)
    region = area_warning("division", "610112", n=4)
    industry = area_warning("industry", "F51", n=5)  # nobody asked for industries
    await d.start()
    try:
        # Published twice (a producer's retry): enqueued and delivered once.
        await publish(kafka_bootstrap, alerts_topic, [critical, info, to_d, region, industry])
        await publish(kafka_bootstrap, alerts_topic, [critical])
        await receiver.wait_for("desk", {critical[0], to_d[0]})
        await receiver.wait_for("areas", {region[0]})

        await receiver.down()
        later = [warning(U[3], severity="warning", n=6), class_changed(U[4], n=7)]
        await publish(kafka_bootstrap, alerts_topic, later)
        # The sender keeps trying while the receiver is down.
        await eventually(
            lambda: all_deliveries(d, subscriber="desk"),
            lambda recs: (
                all(by_id(recs)[("desk", m)].attempts >= 2 for m, _ in later)
                if all(("desk", m) in by_id(recs) for m, _ in later)
                else False
            ),
            what="retries while the receiver is down",
        )
        await receiver.up()
        await receiver.wait_for("desk", {m for m, _ in later})
        recs = await eventually(
            lambda: all_deliveries(d),
            lambda recs: all(r.state == "delivered" for r in recs) and len(recs) == 5,
            what="every delivery delivered",
        )
    finally:
        await d.stop()
        await receiver.down()

    # Nothing lost, nothing twice, nothing unasked for.
    assert sorted(receiver.ids("desk")) == sorted([critical[0], to_d[0], *(m for m, _ in later)])
    assert receiver.ids("areas") == [region[0]]
    assert all(r.verified for r in receiver.got)
    # The body is the CloudEvent as published.
    first = next(r for r in receiver.got if r.webhook_id == critical[0])
    assert first.body == critical[1] and first.payload["type"] == "riskmon.alert.warning"
    # Retried deliveries show their attempts and the outage's last error is cleared.
    got = by_id(recs)
    for m, _ in later:
        assert got[("desk", m)].attempts >= 3
        assert got[("desk", m)].last_status == 204 and got[("desk", m)].last_error is None
    assert got[("desk", critical[0])].attempts == 1

    # A redelivered record (a consumer restarting before its commit) is not enqueued again.
    again = [e for _, body in [critical, to_d, *later] for e in await d.entries_for(body)]
    assert len(again) == 4 and await d.outbox.enqueue(again, 0.0) == 0
    assert await d.outbox.counts() == {"pending": 0, "delivered": 5, "dead": 0}
    # The same message twice in one fetch is one entry.
    twice = await d.entries_for(warning(U[5], n=8)[1])
    assert await d.outbox.enqueue([*twice, *twice], 0.0) == 1
    assert await d.outbox.counts() == {"pending": 1, "delivered": 5, "dead": 0}

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in registry.collect()
        for s in f.samples
    }
    delivered = (
        "riskmon_webhook_deliveries_total",
        (("outcome", "delivered"), ("subscriber", "desk")),
    )
    retried = ("riskmon_webhook_deliveries_total", (("outcome", "retried"), ("subscriber", "desk")))
    assert samples[delivered] == 4 and samples[retried] >= 4


async def test_the_deliveries_route_filters_pages_and_shows_no_secret(
    kafka_bootstrap: str, client: aioredis.Redis, key_prefix: str, alerts_topic: str
) -> None:
    secret = new_secret()
    receiver = await Receiver({"a": secret}).up()
    config = WebhooksConfig(
        subscriber=(
            subscriber("a", receiver.url("a") + "?token=hush", secret, {"riskmon.alert.warning"}),
            subscriber(
                "b", "http://127.0.0.1:9/refused", secret, {"riskmon.alert.warning"}, max_attempts=1
            ),
        )
    )
    d = delivery(client, key_prefix, kafka_bootstrap, alerts_topic, config)
    messages = [warning(U[5], n=n) for n in range(5)]
    await d.start()
    try:
        await publish(kafka_bootstrap, alerts_topic, messages)
        await eventually(
            lambda: all_deliveries(d),
            lambda recs: len(recs) == 10 and all(r.state != "pending" for r in recs),
            what="every delivery finished",
        )
    finally:
        await d.stop()
        await receiver.down()

    async def get(**query: str) -> dict[str, Any]:
        resp = await list_deliveries(Request(query=query), reader=d.outbox)
        assert resp.status == 200, resp.body
        assert secret.encode() not in resp.body and b"hush" not in resp.body
        assert b"127.0.0.1" not in resp.body
        out: dict[str, Any] = loads(resp.body)
        return out

    dead = await get(state="dead")
    assert {x["subscriber"] for x in dead["deliveries"]} == {"b"}
    assert len(dead["deliveries"]) == 5
    assert all(x["last_error"] == "connection refused or unreachable" for x in dead["deliveries"])
    delivered = await get(subscriber="a", state="delivered")
    assert sorted(x["message_id"] for x in delivered["deliveries"]) == sorted(
        m for m, _ in messages
    )
    assert all(x["attempts"] == 1 and x["finished_at"] for x in delivered["deliveries"])

    # Pages of 3, newest first, every delivery once.
    seen: list[str] = []
    page = await get(limit="3")
    while True:
        seen += [f"{x['subscriber']}|{x['message_id']}" for x in page["deliveries"]]
        if page["next_cursor"] is None:
            break
        page = await get(limit="3", cursor=page["next_cursor"])
    assert len(seen) == len(set(seen)) == 10

    bad = await list_deliveries(Request(query={"state": "lost"}), reader=d.outbox)
    assert bad.status == 400 and b"state must be one of" in bad.body
    for cursor in ("nonsense", "nan/a|x", "inf/a|x", "12.5/"):
        bad = await list_deliveries(Request(query={"cursor": cursor}), reader=d.outbox)
        assert bad.status == 400, cursor


async def test_a_receiver_that_never_answers_ends_dead_after_its_maximum_age(
    kafka_bootstrap: str, client: aioredis.Redis, key_prefix: str, alerts_topic: str
) -> None:
    secret = new_secret()
    receiver = Receiver({"slow": secret}, hang=True)
    await receiver.up()
    config = WebhooksConfig(
        subscriber=(
            subscriber(
                "slow",
                receiver.url("slow"),
                secret,
                {"riskmon.alert.warning"},
                timeout_seconds=0.5,
                max_age_seconds=3,
            ),
        )
    )
    d = delivery(client, key_prefix, kafka_bootstrap, alerts_topic, config)
    mid, body = warning(U[0], n=99)
    await d.start()
    try:
        await publish(kafka_bootstrap, alerts_topic, [(mid, body)])
        (rec,) = await eventually(
            lambda: all_deliveries(d),
            lambda recs: len(recs) == 1 and recs[0].state == "dead",
            what="the delivery dead",
        )
    finally:
        await d.stop()
        await receiver.down()
    assert rec.message_id == mid and rec.attempts >= 2
    assert rec.last_status is None and rec.last_error == "no answer within 0.5 s"
    assert rec.finished_at is not None and rec.finished_at - rec.enqueued_at >= 3
    assert receiver.ids("slow") == []  # it never answered, so nothing counts as received


async def test_run_delivers_as_the_settings_and_the_subscribers_file_say(
    kafka_bootstrap: str,
    redis_url: str,
    client: aioredis.Redis,
    key_prefix: str,
    alerts_topic: str,
    tmp_path: Path,
) -> None:
    secret = new_secret()
    receiver = await Receiver({"desk": secret}).up()
    path = tmp_path / "webhooks.toml"
    path.write_text(
        f'version = "t"\n[[subscriber]]\nid = "desk"\nurl = "{receiver.url("desk")}"\n'
        f'secret = "{secret}"\ntypes = ["riskmon.alert.class_changed", "riskmon.task.created"]\n',
        "utf-8",
    )
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis_url,
        redis_prefix=key_prefix,
        group_id=key_prefix,
        alerts_topic=alerts_topic,
        tasks_topic=alerts_topic + ".tasks",
        webhooks_path=path,
    )
    assert load(path).subscribers[0].id == "desk"
    d = Delivery.from_settings(settings, redis=client, bootstrap=kafka_bootstrap)
    assert d.topics == [alerts_topic, alerts_topic + ".tasks"]  # tasks asked for
    ensure_topics(kafka_bootstrap, [TopicSpec(alerts_topic + ".tasks", 1)])
    msg = class_changed(U[1], n=11)
    stop = asyncio.Event()
    running = asyncio.create_task(run(settings, stop, start_from="earliest", poll_seconds=0.1))
    try:
        await publish(kafka_bootstrap, alerts_topic, [msg])
        await receiver.wait_for("desk", {msg[0]})
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await receiver.down()
    assert running.result() is None
