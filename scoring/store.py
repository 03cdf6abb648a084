"""Enterprise state in Redis: the one module of ``scoring`` that does I/O.

Key layout (every key of one Kafka partition shares the hash tag ``{pNNN}``, so one Lua call
touches one Redis Cluster slot, and a crash loses a consistent suffix of a partition):

    <prefix>:e:{pNNN}:<uscc>   hash   the enterprise (see scoring/lua/apply.lua)
    <prefix>:l:{pNNN}          hash   ledger: event hash -> outcome when first applied
    <prefix>:m:{pNNN}          hash   wm (highest applied offset), A/B/C/D counts
    <prefix>:due:{pNNN}        zset   uscc -> time of its next time-driven class change
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

import msgpack
import orjson
import redis.asyncio as aioredis
from redis import exceptions as rexc

from scoring.changes import Change, Contribution, Profile
from scoring.exceptions import StoreError, StoreUnavailableError
from scoring.fold import EnterpriseState, Outcome, Params

__all__ = ["CLASS_NAMES", "ApplyRequest", "Keys", "Status", "Store", "StoreResult", "change_args"]

CLASS_NAMES = ("", "A", "B", "C", "D")
Status = Literal["applied", "redelivered", "republished"]
_SCRIPT = resources.files("scoring").joinpath("lua/apply.lua").read_text("utf-8")
_UNAVAILABLE = (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError)


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    def tag(self, partition: int) -> str:
        return f"{{p{partition:03d}}}"

    def enterprise(self, partition: int, uscc: str) -> str:
        return f"{self.prefix}:e:{self.tag(partition)}:{uscc}"

    def ledger(self, partition: int) -> str:
        return f"{self.prefix}:l:{self.tag(partition)}"

    def meta(self, partition: int) -> str:
        return f"{self.prefix}:m:{self.tag(partition)}"

    def due(self, partition: int) -> str:
        return f"{self.prefix}:due:{self.tag(partition)}"


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    uscc: str
    partition: int
    offset: int
    change: Change


@dataclass(frozen=True, slots=True)
class StoreResult:
    status: Status
    outcome: Outcome

    @property
    def duplicate(self) -> bool:
        return self.status != "applied"


def _contribution_wire(c: Contribution) -> list[Any]:
    return [
        c.key,
        c.dimension,
        c.time,
        c.points,
        c.half_life,
        c.expires,
        c.floor,
        c.tiebreak,
        c.ref,
    ]


def params_arg(params: Params) -> str:
    """apply.lua's ARGV[1]: the model's numbers in one argument (computed once per store)."""
    return " ".join(
        str(v) for v in (params.version, *params.thresholds, *params.caps, params.horizon)
    )


def change_args(req: ApplyRequest, params: str) -> list[str | int | bytes]:
    """ARGV for apply.lua (see its header); ``params`` from :func:`params_arg`."""
    ch = req.change
    contribution: bytes | str = ""
    if ch.contribution is not None:
        contribution = msgpack.packb(_contribution_wire(ch.contribution))
    profile = ""
    if ch.profile is not None:
        p = ch.profile
        profile = orjson.dumps(
            [p.division, p.industry, int(p.new_economy), p.entity_type, p.time, p.tiebreak]
        ).decode()
    return [
        params,
        req.uscc,
        ch.event_hash,
        req.offset,
        ch.asof,
        contribution,
        ch.cancel or "",
        profile,
    ]


def _outcome(raw: bytes) -> StoreResult:
    v = raw.split(b"|", 6)
    status = cast(Status, v[0].decode())
    reasons: tuple[tuple[str, int, int], ...] = ()
    if v[6]:
        reasons = tuple((str(k), int(m), int(f)) for k, m, f in orjson.loads(v[6]))
    return StoreResult(
        status,
        Outcome(
            old_class=int(v[1]),
            new_class=int(v[2]),
            score=int(v[3]),
            asof=int(v[4]),
            due=int(v[5]),
            reasons=reasons,
        ),
    )


def decode_state(fields: Mapping[bytes, bytes]) -> EnterpriseState | None:
    """An enterprise hash as the fold's state (``None`` if the enterprise is unknown)."""
    if not fields:
        return None
    raw = msgpack.unpackb(fields[b"c"])
    contribs: dict[str, Contribution] = {}
    for item in raw if isinstance(raw, list) else []:
        key, dim, t, pts, hl, exp, floor, tb, cancelled, ref = item
        contribs[key] = Contribution(
            key=key,
            dimension=int(dim),
            time=int(t),
            points=float(pts),
            half_life=int(hl),
            expires=int(exp),
            floor=int(floor),
            tiebreak=int(tb),
            cancelled=bool(cancelled),
            ref=str(ref),
        )
    profile = None
    if b"p" in fields:
        div, ind, ne, et, pt, ptb = orjson.loads(fields[b"p"])
        profile = Profile(str(div), str(ind), bool(ne), str(et), int(pt), int(ptb))
    return EnterpriseState(
        contributions=contribs,
        asof=int(fields[b"a"]),
        klass=int(fields[b"k"]),
        score=int(fields[b"s"]),
        due=int(fields[b"d"]),
        profile=profile,
        version=fields[b"v"].decode(),
    )


class Store:
    """Async access to enterprise state. Every write goes through apply.lua (exactly once)."""

    def __init__(
        self, client: aioredis.Redis, *, prefix: str, params: Params, partitions: int
    ) -> None:
        self._client = client
        self.keys = Keys(prefix)
        self.params = params
        self._params_arg = params_arg(params)
        self.partitions = partitions
        self._script = client.register_script(_SCRIPT)

    async def apply_batch(self, requests: Sequence[ApplyRequest]) -> list[StoreResult]:
        """Apply changes in order, pipelined in one round trip; duplicates change nothing.

        Raises StoreUnavailableError (retry the whole batch: it is idempotent) or StoreError.
        """
        if not requests:
            return []
        k = self.keys
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for req in requests:
                    p = req.partition
                    await self._script(
                        keys=[k.enterprise(p, req.uscc), k.ledger(p), k.meta(p), k.due(p)],
                        args=change_args(req, self._params_arg),
                        client=pipe,
                    )
                raw = await pipe.execute()
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
        except rexc.RedisError as exc:
            raise StoreError(f"redis refused the apply script: {exc}") from exc
        return [_outcome(r) for r in raw]

    async def get(self, partition: int, uscc: str) -> EnterpriseState | None:
        try:
            fields = await self._client.hgetall(self.keys.enterprise(partition, uscc))
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
        return decode_state(cast("Mapping[bytes, bytes]", fields))

    async def class_counts(self) -> dict[str, int]:
        """Enterprises per class, summed over partitions (maintained by apply.lua)."""
        totals = {name: 0 for name in CLASS_NAMES[1:]}
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for p in range(self.partitions):
                    pipe.hmget(self.keys.meta(p), *totals)
                rows = await pipe.execute()
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
        for row in rows:
            for name, v in zip(totals, row, strict=True):
                totals[name] += int(v or 0)
        return totals

    async def watermark(self, partition: int) -> int:
        """Highest Kafka offset of ``partition`` applied to Redis; -1 if none."""
        try:
            v = await self._client.hget(self.keys.meta(partition), "wm")
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
        return int(v) if v is not None else -1

    async def due(self, partition: int, until: int, limit: int) -> list[tuple[str, int]]:
        """Enterprises of ``partition`` whose time-driven change is due at or before ``until``."""
        try:
            rows = await self._client.zrangebyscore(
                self.keys.due(partition), "-inf", until, start=0, num=limit, withscores=True
            )
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
        pairs = cast("list[tuple[bytes, float]]", rows)
        return [(m.decode(), int(s)) for m, s in pairs]
