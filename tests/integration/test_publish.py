"""riskmon's own producer (``riskmon generate --kafka``, the demo's feed, the benchmark's load)
against a real broker: every record arrives once, in the partition the worker checks, in order;
an unreachable broker is an error, not a silent loss."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from district.generator import DistrictSpec
from local.embedded import free_port
from local.feed import Pacer, PublishError, keyed_lines, publish
from streams.topics import TopicSpec, ensure_topics, partition_for
from tests.support.harness import read_topic

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_every_record_arrives_once_in_its_murmur2_partition_in_order(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}.events"
    ensure_topics(kafka_bootstrap, [TopicSpec(topic, 4)])
    records = list(keyed_lines(DistrictSpec(now=NOW, enterprises=150, seed=2)))

    assert publish(records, bootstrap=kafka_bootstrap, topic=topic, pacer=Pacer(None)) == len(
        records
    )

    got = read_topic(kafka_bootstrap, topic)
    assert sorted((r.key, r.value) for r in got) == sorted(records)
    assert all(r.partition == partition_for(r.key, 4) for r in got)
    for p in range(4):
        sent = [value for key, value in records if partition_for(key, 4) == p]
        assert [r.value for r in sorted(got, key=lambda r: r.offset) if r.partition == p] == sent


def test_a_paced_publish_stops_when_asked_and_delivers_what_it_sent(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}.events"
    ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    records = keyed_lines(DistrictSpec(now=NOW, enterprises=500, seed=2))
    pacer = Pacer(2_000)
    sent = publish(
        records,
        bootstrap=kafka_bootstrap,
        topic=topic,
        pacer=pacer,
        should_stop=lambda: pacer.count >= 300,
    )
    assert sent == 300
    assert len(read_topic(kafka_bootstrap, topic)) == 300


def test_an_unreachable_broker_is_an_error_naming_the_topic() -> None:
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    records = [(b"91610112MA6TGQ1K2M", b"{}")] * 3
    started = time.monotonic()
    with pytest.raises(PublishError, match=r"3 of 3 record\(s\) to riskmon.events at 127\.0"):
        publish(
            records,
            bootstrap=bootstrap,
            topic="riskmon.events",
            pacer=Pacer(None),
            timeout_seconds=1,
        )
    assert time.monotonic() - started < 30
