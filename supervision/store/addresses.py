"""The address cluster in Redis: one structure per normalised address, across partitions.

Enterprises at one address live in many partitions, so their count cannot sit under one
partition's hash tag. Each address has a hash of its own (``<prefix>:addr:{<address hash>}``,
its own hash tag, one Redis Cluster slot): USCC -> ``<rank>|<event hash>``, written by
``address.lua`` (beside this module), which gives an enterprise the next rank the first time
and the same entry ever after. That makes it exact without a transaction across partitions:

* **idempotent**: a redelivered or re-published registration gets the entry it got the first
  time, so it re-sends the same warning, with the same id; a later registration of the same
  enterprise at the same address (a change of name, say) carries another event hash and
  sends nothing;
* **order-free ids**: the enterprise of rank r raises the warning when r is a level (N, 2N,
  4N, ...; ``alerts/warnings/address.py``), its id derived from the rule, the address hash
  and the level. The set of ids is a function of how many enterprises registered at each
  address, whatever the partitions' interleaving; which enterprise carries a level is not.

Run after the partition's supervision MULTI, for every registration of the batch with an
address (duplicates too: that is how a crash between the two writes is made good). The
messages go with their event's, after its supervision messages; they are not in
supervision's ledger, which they need not be: asking again answers the same.

Bounded: an enterprise that moves keeps its entry at the old address (a cluster counts the
enterprises ever registered there); the structure grows by one field per enterprise with an
address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from alerts.rules import Message
from alerts.warnings.address import address_hash, address_warning, is_level
from alerts.warnings.enterprise import Rules
from schemas.alerts import Evidence
from schemas.events import EnterpriseRegistered, EventType
from scoring.store.errors import redis_errors
from supervision.step import Input
from supervision.store.keys import SupervisionKeys

__all__ = ["SCRIPT", "Addresses"]

#: ``supervision/store/address.lua`` as shipped.
SCRIPT = resources.files(__package__).joinpath("address.lua").read_text("utf-8")


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class Addresses:
    """The address-cluster rules of ``rules`` on a Redis client."""

    def __init__(self, client: aioredis.Redis, keys: SupervisionKeys, rules: Rules) -> None:
        self._client = client
        self._keys = keys
        self._rules = rules
        self._sha = hashlib.sha1(SCRIPT.encode()).hexdigest()

    async def apply(
        self, inputs: Sequence[Input]
    ) -> tuple[dict[int, list[Message]], Counter[tuple[str, str]]]:
        """The address warnings of ``inputs`` (index -> messages, for those that raise any),
        and those raised for the first time by (rule, severity), for the metrics. Idempotent:
        asking again answers the same messages and counts nothing."""
        rules = self._rules.address
        counted: Counter[tuple[str, str]] = Counter()
        if not rules:
            return {}, counted
        asks: list[tuple[int, Input, str]] = []
        for j, inp in enumerate(inputs):
            data = inp.data
            if inp.etype != EventType.ENTERPRISE_REGISTERED:
                continue
            if not isinstance(data, EnterpriseRegistered) or not data.address:
                continue
            h = address_hash(data.address)
            if h:
                asks.append((j, inp, h))
        if not asks:
            return {}, counted
        with redis_errors("the address clusters' write"):
            replies = await self._ask(asks)
        out: dict[int, list[Message]] = {}
        for (j, inp, h), (entry, new) in zip(asks, replies, strict=True):
            rank_text, ehash = _text(entry).split("|", 1)
            if ehash != inp.ehash:
                continue  # the enterprise came here by another registration, which told
            rank = int(rank_text)
            data = cast(EnterpriseRegistered, inp.data)
            for rule in rules:
                if not is_level(rank, rule.min_enterprises):
                    continue
                proof = Evidence(
                    source=inp.source,
                    id=inp.event_id,
                    type=inp.etype,
                    time=dt.datetime.fromtimestamp(inp.time, dt.UTC),
                )
                raised = address_warning(
                    rule,
                    self._rules.version,
                    inp.uscc,
                    h,
                    rank,
                    proof,
                    (data.division_code, data.industry_code),
                )
                out.setdefault(j, []).append(raised.message)
                if int(new):
                    counted[rule.id, rule.severity] += 1
        return out, counted

    async def _ask(self, asks: Sequence[tuple[int, Input, str]]) -> list[Any]:
        """The script's replies, one per ask, pipelined by its SHA-1; loaded (and the calls
        sent again: each is idempotent) when Redis lacks it, after a restart say."""
        for _ in range(2):
            pipe = self._client.pipeline(transaction=False)
            for _, inp, h in asks:
                pipe.evalsha(self._sha, 1, self._keys.address(h), inp.uscc, inp.ehash)
            try:
                replies: list[Any] = await pipe.execute()
                return replies
            except NoScriptError:
                await self._client.script_load(SCRIPT)
        raise NoScriptError("address.lua: not loaded after SCRIPT LOAD")
