"""The audit log on a real Redis: writers racing extend one chain, and forwarding sends it in
order, a crash mid-forward sending some twice, which verification passes over."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest

from security.audit import AuditRecord, Head, verify
from security.store.audit import AuditLog, chains, forward, heads, ops_chain, recent
from streams.redis_client import connect_async

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

KEY = b"an audit key of thirty-two bytes!"


async def test_writers_racing_extend_one_chain(redis_url: str, key_prefix: str) -> None:
    clients = [connect_async(redis_url) for _ in range(4)]
    try:
        logs = [AuditLog(c, prefix=key_prefix, key=KEY) for c in clients]

        async def writer(n: int) -> list[int]:
            return [
                (await logs[n].append(f"token:w{n}", "enterprise.explain", f"u{i}", {"i": i})).seq
                for i in range(25)
            ]

        seqs = await asyncio.gather(*(writer(n) for n in range(4)))
        assert sorted(s for part in seqs for s in part) == list(range(100))
        sent: list[tuple[bytes, bytes]] = []

        async def publish(batch: Sequence[tuple[bytes, bytes]]) -> None:
            sent.extend(batch)

        every = chains(key_prefix, 2)
        assert await forward(clients[0], every, publish) == 100
        assert await forward(clients[1], every, publish) == 0  # nothing new: nothing again
        records = [AuditRecord.from_json(v) for _, v in sent]
        known = await heads(clients[2], key_prefix, 2)
        assert known == {"ops": Head(99, records[-1].hash)}
        v = verify(records, KEY, known)
        assert v.ok and v.records == 100, v.problem
        assert {k for k, _ in sent} == {b"ops"}
        assert [r.seq for r in await recent(clients[3], ops_chain(key_prefix), 3)] == [99, 98, 97]
    finally:
        for c in clients:
            await c.aclose()


async def test_a_forward_cut_short_sends_again_and_the_copy_still_verifies(
    redis_url: str, key_prefix: str
) -> None:
    client = connect_async(redis_url)
    try:
        log = AuditLog(client, prefix=key_prefix, key=KEY)
        for i in range(5):
            await log.append("token:li.na", "task.start", f"t-{i}", {})
        sent: list[bytes] = []

        async def dies_after_three(batch: Sequence[tuple[bytes, bytes]]) -> None:
            sent.extend(v for _, v in batch[:3])  # three reach the broker, then it goes
            raise ConnectionError("broker gone")

        every = chains(key_prefix, 1)
        with pytest.raises(ConnectionError):
            await forward(client, every, dies_after_three)

        async def publish(batch: Sequence[tuple[bytes, bytes]]) -> None:
            sent.extend(v for _, v in batch)

        await log.append("token:li.na", "task.cancel", "t-9", {"reason": "r"})
        assert await forward(client, every, publish) == 6  # pointer unmoved: all, and one new
        records = [AuditRecord.from_json(v) for v in sent]
        known = await heads(client, key_prefix, 1)
        v = verify(records, KEY, known)
        assert v.ok and (v.records, v.duplicates) == (9, 3), v.problem
        # an edit to the copy is still caught, and so is a copy that stops early
        tampered = [r if r.seq != 4 else dataclasses.replace(r, actor="token:x") for r in records]
        assert "(chain ops, seq 4): its hash does not match" in (
            verify(tampered, KEY).problem or ""
        )
        assert not verify(records[:-1], KEY, known).ok
        assert not verify(records, b"x" * 32).ok
    finally:
        await client.aclose()
