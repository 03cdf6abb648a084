"""Alertmanager end to end: Debian's real ``prometheus-alertmanager``, started by the test on
loopback ports, takes what riskmon posts through its outbox (critical warnings, entries into
D, regional and industry warnings; nothing else), with the labels and console links people
route and click on; and the example route in deploy/ loads."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from alerts.webhooks_config import WebhooksConfig
from jobs.deliver import Delivery
from scoring.changes import Profile
from scoring.fold import EnterpriseState
from scoring.store.keys import Keys
from scoring.store.wire import encode_state
from streams.redis_client import connect_async
from streams.topics import TopicSpec, ensure_topics, partition_for
from tests.support.alert_messages import (
    area_warning,
    class_changed,
    eventually,
    publish,
    warning,
)
from tests.support.alertmanager import MINIMAL_CONFIG, get_json, running_alertmanager
from tests.support.tasks import usccs

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml"
CONSOLE = "http://console.riskmon.test:6067"
PARTITIONS = 8
U = usccs(4, seed=180)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = connect_async(redis_url)
    yield c
    await c.aclose()


def test_the_example_route_loads_in_a_real_alertmanager(tmp_path: Path) -> None:
    with running_alertmanager(EXAMPLE, tmp_path) as base:
        status = get_json(f"{base}/api/v2/status")
    assert "duty-officer" in status["config"]["original"]
    assert status["cluster"]["status"] == "disabled"


async def alerts_in(base: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = await asyncio.to_thread(get_json, f"{base}/api/v2/alerts")
    return got


async def test_posts_reach_alertmanager_with_labels_and_console_links(
    kafka_bootstrap: str,
    client: aioredis.Redis,
    key_prefix: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    topic = f"{topic_prefix}.alerts"
    ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    # The enterprise entering D has a stored profile: its division and industry become labels.
    d_entry = U[1]
    profile = Profile("110105", "F51", False, "1", 0, 0)
    keys = Keys(key_prefix)
    part = partition_for(d_entry.encode(), PARTITIONS)
    state = EnterpriseState(klass=4, score=80, profile=profile, version="test-model")
    await client.hset(keys.states(part, d_entry), d_entry, encode_state(state))

    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    critical = warning(U[0], severity="critical", rule="penalties", n=1, time=now)
    minor = warning(U[2], severity="warning", n=2, time=now)  # not critical: not posted
    to_d = class_changed(d_entry, new="D", old="C", n=3, time=now)
    to_c = class_changed(U[3], new="C", old="B", n=4, time=now)  # not D: not posted
    region = area_warning("division", "610112", severity="warning", n=5, time=now)
    industry = area_warning("industry", "F51", severity="info", n=6, time=now)

    config_path = tmp_path / "am.yml"
    config_path.write_text(MINIMAL_CONFIG, "utf-8")
    with running_alertmanager(config_path, tmp_path) as base:
        d = Delivery(
            redis=client,
            prefix=key_prefix,
            config=WebhooksConfig(),
            bootstrap=kafka_bootstrap,
            group_id=key_prefix,
            topics=[topic],
            alertmanager_url=base,
            console=CONSOLE,
            partitions=PARTITIONS,
            start_from="earliest",
            poll_seconds=0.1,
        )
        await d.start()
        try:
            await publish(kafka_bootstrap, topic, [critical, minor, to_d, to_c, region, industry])
            got = await eventually(
                lambda: alerts_in(base), lambda alerts: len(alerts) >= 4, what="4 alerts"
            )
            page = await eventually(
                lambda: d.outbox.deliveries(),
                lambda p: (
                    len(p.deliveries) == 4 and all(x.state == "delivered" for x in p.deliveries)
                ),
                what="4 posts delivered",
            )
        finally:
            await d.stop()

    assert len(got) == 4
    by_name = {a["labels"]["alertname"]: a for a in got}
    assert set(by_name) == {
        "RiskmonWarning",
        "RiskmonClassD",
        "RiskmonRegionalWarning",
        "RiskmonIndustryWarning",
    }
    w = by_name["RiskmonWarning"]
    assert w["labels"] | {"id": ""} == {
        "alertname": "RiskmonWarning",
        "severity": "critical",
        "rule": "penalties",
        "uscc": U[0],
        "division": "610112",
        "industry": "F51",
        "id": "",
    }
    assert w["labels"]["id"] == critical[0]
    assert w["generatorURL"] == f"{CONSOLE}/enterprises/{U[0]}"
    assert dt.datetime.fromisoformat(w["startsAt"]) == now
    assert dt.datetime.fromisoformat(w["endsAt"]) == now + dt.timedelta(hours=24)
    assert w["status"]["state"] == "active"
    assert "penalties" in w["annotations"]["summary"]

    dd = by_name["RiskmonClassD"]["labels"]
    assert (dd["severity"], dd["uscc"], dd["division"], dd["industry"]) == (
        "critical",
        d_entry,
        "110105",
        "F51",
    )
    assert by_name["RiskmonClassD"]["generatorURL"] == f"{CONSOLE}/enterprises/{d_entry}"

    r = by_name["RiskmonRegionalWarning"]
    assert r["labels"]["division"] == "610112" and "uscc" not in r["labels"]
    assert r["generatorURL"] == f"{CONSOLE}/regions/610112"
    i = by_name["RiskmonIndustryWarning"]
    assert (i["labels"]["industry"], i["labels"]["severity"]) == ("F51", "info")
    assert i["generatorURL"] == f"{CONSOLE}/industries/F51"

    posted = {x.message_id for x in page.deliveries}
    assert posted == {critical[0], to_d[0], region[0], industry[0]}
    assert {x.subscriber for x in page.deliveries} == {"alertmanager"}
