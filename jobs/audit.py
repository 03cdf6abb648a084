"""The audit log's operator side: send what Redis holds to the topic, read the topic back.

``riskmon audit verify`` and ``export`` read the log from the audit topic (what an auditor can
be given), after sending the records Redis still holds and the workers have not forwarded yet
(``security/store/audit.py``): a command that just made a token, on a machine where no worker
runs, is then in the copy too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from jobs.topic_reader import read_to_end
from security.audit import AuditRecord, Head
from security.exceptions import AuditError
from security.store.audit import chains, forward, heads
from streams.connections import kafka_python_config, redis_options
from streams.redis_client import connect_async
from streams.settings import Settings
from streams.topics import ensure_topics, topic_specs

__all__ = ["forward_pending", "parse", "read_log"]

_CONNECT_MS: Final = 10_000


def forward_pending(settings: Settings, redis_url: str, bootstrap: str) -> dict[str, Head]:
    """Send the records not yet on the audit topic; the chains' heads as Redis has them.
    Raises ``security.exceptions.UnavailableError`` or kafka-python's ``KafkaError``."""
    from kafka import KafkaProducer

    specs = [t for t in topic_specs(settings) if t.name == settings.audit_topic]
    ensure_topics(bootstrap, specs, client_config=kafka_python_config(settings))
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        bootstrap_timeout_ms=_CONNECT_MS,
        **kafka_python_config(settings),
    )

    async def go() -> dict[str, Head]:
        client = connect_async(redis_url, socket_timeout=10, **redis_options(settings))
        try:

            async def publish(batch: Sequence[tuple[bytes, bytes]]) -> None:
                for key, value in batch:
                    producer.send(settings.audit_topic, key=key, value=value, partition=0)
                producer.flush(timeout=60)

            prefix, parts = settings.redis_prefix, settings.partitions
            await forward(client, chains(prefix, parts), publish)
            return await heads(client, prefix, parts)
        finally:
            await client.aclose()

    try:
        return asyncio.run(go())
    finally:
        producer.close(timeout=10)


def read_log(settings: Settings, bootstrap: str) -> list[bytes]:
    """Every message of the audit topic, in order ([] if there is no such topic)."""
    return read_to_end(bootstrap, settings.audit_topic, kafka_python_config(settings))


def parse(lines: list[bytes]) -> list[AuditRecord]:
    """The records of a copy. Raises ``AuditError`` naming the first line that is none."""
    out = []
    for n, line in enumerate(lines, start=1):
        try:
            out.append(AuditRecord.from_json(line))
        except AuditError as exc:
            raise AuditError(f"line {n}: {exc}") from None
    return out
