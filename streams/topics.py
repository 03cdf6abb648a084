"""Kafka topics riskmon owns, and the partitioner every producer must agree with."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

__all__ = ["TopicError", "TopicSpec", "ensure_topics", "partition_for"]


class TopicError(Exception):
    """A topic could not be created, or exists with another partition count."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2, as the Java client, aiokafka and kafka-python)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def ensure_topics(bootstrap: str, specs: Sequence[TopicSpec], timeout_seconds: float = 30) -> None:
    """Create the missing topics; refuse an existing one with another partition count.

    The partition count of a live topic is never changed: every enterprise's state is keyed by
    the partition its USCC hashes to.
    """
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap.split(","),
            request_timeout_ms=int(timeout_seconds * 1000),
            client_id="riskmon-admin",
        )
    except KafkaError as exc:
        raise TopicError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            # another worker may create one meanwhile: its partition count is checked below
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [
                        NewTopic(s.name, s.partitions, s.replication_factor, dict(s.config))
                        for s in missing
                    ],
                    timeout_ms=int(timeout_seconds * 1000),
                )
        described = {
            t["name"]: len(t["partitions"]) for t in admin.describe_topics([s.name for s in specs])
        }
        for s in specs:
            have = described.get(s.name)
            if have is not None and have != s.partitions:
                raise TopicError(
                    f"topic {s.name} has {have} partitions, configured {s.partitions}:"
                    " riskmon never changes a live topic's partition count"
                )
    except KafkaError as exc:
        raise TopicError(f"topic administration failed at {bootstrap}: {exc}") from exc
    finally:
        admin.close()
