"""Reading a small topic from its beginning to its end, for the commands that list what is on
one (plans, the audit log)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["read_to_end"]

_CONNECT_MS: Final = 10_000
_POLL_MS: Final = 300


def read_to_end(
    bootstrap: str,
    topic: str,
    config: Mapping[str, Any] | None = None,
    timeout_seconds: float = 120,
) -> list[bytes]:
    """Every message value of ``topic``, partition by partition in offset order ([] if there is
    no such topic). ``config``: kafka-python's TLS and SASL arguments. Reads to the reported end
    offsets, then on until two polls in a row return nothing: an embedded broker may report the
    end of a batch short of its last records. Raises kafka-python's ``KafkaError``."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        enable_auto_commit=False,
        bootstrap_timeout_ms=_CONNECT_MS,
        **(config or {}),
    )
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        got: dict[Any, list[bytes]] = {tp: [] for tp in tps}
        quiet, deadline = 0, time.monotonic() + timeout_seconds
        while quiet < 2 or any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                break
            polled = consumer.poll(timeout_ms=_POLL_MS)
            quiet = 0 if polled else quiet + 1
            for tp, recs in polled.items():
                got[tp].extend(r.value or b"" for r in recs)
        return [v for tp in tps for v in got[tp]]
    finally:
        consumer.close()
