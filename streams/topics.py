"""Kafka topics riskmon owns, and the partitioner every producer must agree with.

:func:`ensure_topics` creates missing topics and leaves existing ones alone, but refuses one whose
partition count differs from the configured one: state in Redis is keyed by the partition a key
hashes to (:func:`partition_for`), so a live topic's partition count is never changed.
"""

from __future__ import annotations

import functools
import logging
import re
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.errors import for_code as kafka_error_for_code
from kafka.partitioner.default import murmur2

from streams.settings import Settings

__all__ = ["TopicError", "TopicSpec", "ensure_topics", "partition_for", "topic_specs"]

log = logging.getLogger(__name__)

# Kafka's own rule (org.apache.kafka.common.internals.Topic): Tansu accepts any name, a real
# cluster does not, so names are checked here to fail the same way on both.
_LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")


class TopicError(Exception):
    """A topic could not be described or created, or exists with another partition count."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as riskmon wants it. ``config`` holds topic-level settings such as
    ``{"min.insync.replicas": "2"}``; it is applied only when the topic is created."""

    name: str
    partitions: int
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _LEGAL_TOPIC.fullmatch(self.name) or self.name in {".", ".."}:
            raise ValueError(
                f"illegal topic name {self.name!r}: 1-249 of ASCII letters, digits, '.', '_', '-'"
            )
        if self.partitions < 1:
            raise ValueError(f"topic {self.name}: partitions must be >= 1, not {self.partitions}")
        if self.replication_factor < 1:
            raise ValueError(
                f"topic {self.name}: replication_factor must be >= 1, not {self.replication_factor}"
            )


@functools.lru_cache(maxsize=1 << 16)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` among ``partitions``.

    murmur2 of the key bytes, sign bit cleared, modulo the count: the same as the Java client,
    aiokafka and kafka-python (whose murmur2 this is). librdkafka clients (kcat,
    confluent-kafka) agree only with ``partitioner=murmur2_random``.
    """
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, not {partitions}")
    return (int(murmur2(key)) & 0x7FFFFFFF) % partitions


def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec],
    timeout_seconds: float = 30,
    client_config: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics in ``specs`` that do not exist; leave existing ones as they are.

    Idempotent, and safe when several workers run it at once. Raises :class:`TopicError` if an
    existing topic has a partition count other than its spec's (nothing is created then), if the
    broker refuses a creation, or if Kafka cannot be reached. ``timeout_seconds`` bounds each
    request to the broker and the wait for new topics to have leaders. Replication factor and
    config of existing topics are not compared. ``client_config``: kafka-python's TLS and SASL
    arguments (``streams.connections.kafka_python_config``).
    """
    wanted = _dedupe(specs)
    if not wanted:
        return
    timeout_ms = max(1, int(timeout_seconds * 1000))
    _wait_for_listener(bootstrap, time.monotonic() + timeout_seconds)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap.split(","),
            client_id="riskmon-admin",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            **(client_config or {}),
        )
    except KafkaError as exc:
        raise TopicError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        have = _partition_counts(admin, list(wanted))
        _refuse_mismatch(wanted, have)
        missing = [spec for name, spec in wanted.items() if name not in have]
        if missing:
            _create(admin, missing, timeout_ms)
            # Another worker may have created one meanwhile, with its own count: check again.
            have = _partition_counts(admin, list(wanted))
            _refuse_mismatch(wanted, have)
            absent = sorted(set(wanted) - set(have))
            if absent:
                raise TopicError(f"topics {absent} do not exist after creating them")
    except KafkaError as exc:
        raise TopicError(f"topic administration at {bootstrap} failed: {exc}") from exc
    finally:
        admin.close()


def _wait_for_listener(bootstrap: str, deadline: float) -> None:
    """Wait until some bootstrap address accepts TCP, or raise :class:`TopicError`.

    kafka-python 3.0 leaks a socket per refused connection and the IO thread of a client whose
    bootstrap fails, so an absent broker is waited for here rather than by the client.
    """
    addresses = [_host_port(a) for a in bootstrap.split(",") if a.strip()]
    if not addresses:
        raise TopicError(f"no Kafka bootstrap address in {bootstrap!r}")
    last: OSError | None = None
    while True:
        for host, port in addresses:
            try:
                with socket.create_connection((host, port), timeout=1.0):
                    return
            except OSError as exc:
                last = exc
        if time.monotonic() >= deadline:
            raise TopicError(f"cannot reach Kafka at {bootstrap}: {last}") from last
        time.sleep(0.2)


def _host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit():
        raise TopicError(f"bad Kafka bootstrap address {address!r}: expected host:port")
    return host.strip("[]"), int(port)


def _dedupe(specs: Sequence[TopicSpec]) -> dict[str, TopicSpec]:
    wanted: dict[str, TopicSpec] = {}
    for spec in specs:
        seen = wanted.setdefault(spec.name, spec)
        if seen != spec:
            raise TopicError(f"topic {spec.name} is configured twice, differently: {seen}, {spec}")
    return wanted


def _partition_counts(admin: Any, names: list[str]) -> dict[str, int]:
    """Partition count of each existing topic among ``names``; absent ones are left out."""
    counts: dict[str, int] = {}
    for topic in admin.describe_topics(names):
        name = str(topic["name"])
        error = kafka_error_for_code(int(topic["error_code"]))
        if error is UnknownTopicOrPartitionError:
            continue
        if error.errno != 0:
            raise TopicError(f"cannot describe topic {name}: {error.__name__}")
        counts[name] = len(topic["partitions"])
    return counts


def _refuse_mismatch(wanted: Mapping[str, TopicSpec], have: Mapping[str, int]) -> None:
    wrong = [
        f"{name} has {have[name]} partitions, configured {spec.partitions}"
        for name, spec in wanted.items()
        if name in have and have[name] != spec.partitions
    ]
    if wrong:
        raise TopicError(
            "; ".join(wrong) + ": riskmon never changes a live topic's partition count"
            " (state is keyed by partition); configure the existing count or use new topics"
        )


def _create(admin: Any, specs: Sequence[TopicSpec], timeout_ms: int) -> None:
    response = admin.create_topics(
        {
            spec.name: {
                "num_partitions": spec.partitions,
                "replication_factor": spec.replication_factor,
                "configs": dict(spec.config),
            }
            for spec in specs
        },
        timeout_ms=timeout_ms,
        raise_errors=False,
    )
    refused = []
    for topic in response["topics"]:
        error = kafka_error_for_code(int(topic["error_code"]))
        if error.errno == 0:
            log.info("created topic %s with %s partitions", topic["name"], topic["num_partitions"])
        elif error is not TopicAlreadyExistsError:  # created by another worker meanwhile
            refused.append(f"{topic['name']}: {error.__name__} {topic.get('error_message') or ''}")
    if refused:
        raise TopicError("the broker refused to create " + "; ".join(s.strip() for s in refused))
    admin.wait_for_topics([spec.name for spec in specs], timeout_ms=timeout_ms)


def topic_specs(s: Settings) -> list[TopicSpec]:
    """The topics riskmon reads and writes, as ``riskmon run`` creates them."""
    rf = s.replication_factor
    # Production: RF 3 with min.insync.replicas=2 (set RISKMON_REPLICATION_FACTOR=3).
    config = {"min.insync.replicas": "2"} if rf >= 3 else {}
    # The audit log: one partition (its chain is read in one order), kept for ever.
    audit = {**config, "cleanup.policy": "delete", "retention.ms": "-1"}
    return [
        *(
            TopicSpec(name, s.partitions, rf, config)
            for name in (
                s.events_topic,
                s.alerts_topic,
                s.tasks_topic,
                s.dlq_topic,
                s.reminders_topic,
                s.plans_topic,
            )
        ),
        TopicSpec(s.audit_topic, 1, rf, audit),
        # Acknowledgements are records of what people did: kept for ever, like the audit log.
        TopicSpec(s.acks_topic, s.partitions, rf, {**audit}),
    ]
