"""Enterprise state in Redis: the one module of ``scoring`` that does I/O.

Key layout (every key of one Kafka partition shares the hash tag ``{pNNN}``, so one Lua call
touches one Redis Cluster slot, and a crash loses a consistent suffix of a partition):

    <prefix>:s:{pNNN}:<bucket> hash   uscc -> the enterprise, MessagePack (scoring/lua/apply.lua)
    <prefix>:l:{pNNN}          hash   ledger: event hash -> outcome when first applied ("" when
                                      it warranted no alert or task); with a ledger window W,
                                      buckets <prefix>:l:{pNNN}:<offset // W>, newest two kept
    <prefix>:m:{pNNN}          hash   wm (highest applied offset), lk (newest ledger bucket),
                                      A/B/C/D counts
    <prefix>:due:{pNNN}        zset   uscc -> time of its next time-driven class change
    <prefix>:o:{pNNN}          hash   reclassify's outbox: uscc -> a class change whose alert
                                      is not yet acked (see Store.reclassify)

Every write is one call of apply.lua per partition and batch: the events of a batch travel as
one MessagePack argument, so neither the client nor Redis pays per-command costs per event.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, cast

import msgpack
import orjson
import redis
import redis.asyncio as aioredis
from redis import exceptions as rexc

from scoring.changes import Change, Contribution, Profile
from scoring.exceptions import StoreError, StoreUnavailableError
from scoring.fold import EnterpriseState, Outcome, Params
from scoring.words import decode_word, encode_word

__all__ = [
    "CLASS_NAMES",
    "SCRIPT",
    "STATE_BUCKETS",
    "ApplyRequest",
    "Call",
    "Keys",
    "ReclassifyPage",
    "ReclassifyResult",
    "Status",
    "Store",
    "StoreResult",
    "bucket_of",
    "decode_state",
    "encode_state",
    "events_arg",
    "iter_states",
    "ledger_field",
    "newest_asof",
    "params_arg",
    "plan_calls",
    "version_id",
]

CLASS_NAMES = ("", "A", "B", "C", "D")
Status = Literal["applied", "redelivered", "republished"]
#: The Lua source of every write (apply and reclassify).
SCRIPT = resources.files("scoring").joinpath("lua/apply.lua").read_text("utf-8")
#: Events per script call: long enough to amortise a call, short enough not to block Redis.
MAX_CALL_EVENTS = 1_000
_UNAVAILABLE = (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError)


#: The enterprises of a partition are spread over this many hashes, by CRC-32 of the USCC. A
#: field of a hash costs about 40 bytes less than a key of its own; 64 hashes per partition
#: keep each small enough to move between Redis Cluster nodes at 50 million enterprises over
#: 12 partitions (65,000 fields, some 16 MB). Stored data: never change it for a prefix.
STATE_BUCKETS = 64


def bucket_of(uscc: str) -> int:
    """The state hash of ``uscc`` within its partition."""
    return zlib.crc32(uscc.encode()) % STATE_BUCKETS


@functools.lru_cache(maxsize=4096)
def _buckets(prefix: str, partition: int) -> tuple[str, ...]:
    return tuple(f"{prefix}:s:{{p{partition:03d}}}:{b}" for b in range(STATE_BUCKETS))


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    def tag(self, partition: int) -> str:
        return f"{{p{partition:03d}}}"

    def states(self, partition: int, uscc: str) -> str:
        """The hash that holds ``uscc``'s state (field: the USCC)."""
        return self.buckets(partition)[bucket_of(uscc)]

    def buckets(self, partition: int) -> tuple[str, ...]:
        """Every state hash of ``partition``."""
        return _buckets(self.prefix, partition)

    def ledger(self, partition: int) -> str:
        return f"{self.prefix}:l:{self.tag(partition)}"

    def meta(self, partition: int) -> str:
        return f"{self.prefix}:m:{self.tag(partition)}"

    def due(self, partition: int) -> str:
        return f"{self.prefix}:due:{self.tag(partition)}"

    def outbox(self, partition: int) -> str:
        """Hash: uscc -> a class change of ``riskmon reclassify`` whose alert is not yet sent."""
        return f"{self.prefix}:o:{self.tag(partition)}"

    def models(self) -> str:
        """Hash: version id -> model version, of every model that wrote a state here."""
        return f"{self.prefix}:models"

    def shared(self, partition: int) -> list[str]:
        """apply.lua's KEYS[1..3]: ledger, meta and due index of ``partition``."""
        return [self.ledger(partition), self.meta(partition), self.due(partition)]


@dataclass(slots=True)
class ApplyRequest:
    uscc: str
    partition: int
    offset: int
    change: Change


@dataclass(slots=True)
class StoreResult:
    status: Status
    outcome: Outcome

    @property
    def duplicate(self) -> bool:
        return self.status != "applied"


@dataclass(frozen=True, slots=True)
class ReclassifyResult:
    """An enterprise re-evaluated under new parameters (``version``), and what that did."""

    uscc: str
    outcome: Outcome
    partition: int = 0
    version: str = ""


@dataclass(slots=True)
class ReclassifyPage:
    """What re-evaluating some state hashes did: enterprises scanned, re-evaluated (the rest
    were already under the model's version), and those whose class changed."""

    scanned: int = 0
    reevaluated: int = 0
    changed: list[ReclassifyResult] = field(default_factory=list)


def params_arg(params: Params, ledger_window: int = 0) -> str:
    """apply.lua's ARGV[1]: the model's numbers and the ledger window (0: keep every entry)
    in one argument (computed once per store)."""
    numbers = (version_id(params.version), *params.thresholds, *params.caps, params.horizon)
    return " ".join(str(v) for v in (*numbers, ledger_window))


def _profile_wire(p: Profile) -> list[Any]:
    # A division code is six digits, the first 1-8 (GB/T 2260): an int of 5 bytes, not 7.
    division: int | str = int(p.division) if p.division.isdigit() else p.division
    return [
        division,
        p.industry,
        int(p.new_economy),
        encode_word(p.entity_type),
        p.time,
        p.tiebreak,
    ]


def _contribution_head(c: Contribution) -> tuple[Any, ...]:
    # A contribution's fields as apply.lua indexes them, up to the tiebreak (then a stored
    # one has `cancelled`, and both end with the reference).
    return (c.key, c.dimension, c.time, c.points, c.half_life, c.expires, c.floor, c.tiebreak)


def _event_wire(req: ApplyRequest) -> list[Any]:
    ch = req.change
    contribution: list[Any] | bool = False
    if (c := ch.contribution) is not None:
        contribution = [*_contribution_head(c), encode_word(c.ref)]
    profile: list[Any] | bool = False
    if (p := ch.profile) is not None:
        profile = _profile_wire(p)
    wire = [req.uscc, ledger_field(ch.event_hash), req.offset, ch.asof]
    return [*wire, contribution, ch.cancel or "", profile]


def ledger_field(event_hash: str) -> bytes:
    """The ledger's field for an event: its hash's 8 bytes (the hex would cost 8 more)."""
    return bytes.fromhex(event_hash)


def events_arg(requests: Iterable[ApplyRequest]) -> bytes:
    """apply.lua's ARGV[3] for ``requests`` (all of one partition, in log order)."""
    # Bytes (the event hash) as MessagePack's raw string: Redis' cmsgpack predates bin.
    wire = [_event_wire(r) for r in requests]
    return cast(bytes, msgpack.packb(wire, use_bin_type=False))


#: One apply.lua call: its KEYS and ARGV.
Call = tuple[list[str], list[str | bytes]]


def plan_calls(
    keys: Keys, params: str, requests: Sequence[ApplyRequest]
) -> tuple[list[Call], list[int]]:
    """The apply.lua calls for ``requests`` (one per partition and up to MAX_CALL_EVENTS
    events, each partition's events in their order), and the index in ``requests`` of each
    event in call order. Pure: the worker plans in its decode process."""
    by_partition: dict[int, list[int]] = {}
    for i, req in enumerate(requests):
        by_partition.setdefault(req.partition, []).append(i)
    calls: list[Call] = []
    order: list[int] = []
    for p, idx in by_partition.items():
        for lo in range(0, len(idx), MAX_CALL_EVENTS):
            part = idx[lo : lo + MAX_CALL_EVENTS]
            chunk = [requests[i] for i in part]
            call_keys = keys.shared(p) + [keys.states(p, r.uscc) for r in chunk]
            calls.append((call_keys, [params, "apply", events_arg(chunk)]))
            order.extend(part)
    return calls, order


def _outcome(v: list[bytes]) -> Outcome:
    reasons: tuple[tuple[str, int, int], ...] = ()
    if v[5]:
        reasons = tuple((str(k), int(m), int(f)) for k, m, f in orjson.loads(v[5]))
    return Outcome(
        old_class=int(v[0]),
        new_class=int(v[1]),
        score=int(v[2]),
        asof=int(v[3]),
        due=int(v[4]),
        reasons=reasons,
    )


def _result(raw: bytes) -> StoreResult:
    v = raw.split(b"|", 6)
    return StoreResult(cast(Status, v[0].decode()), _outcome(v[1:]))


def version_id(version: str) -> int:
    """What a state stores of its model version: CRC-32 of the name, 5 bytes of MessagePack
    instead of the name's 15 or more. Two versions of one prefix would have to collide in 32
    bits to be confused, and a store refuses to write under a version whose id another one
    holds; the names are kept in ``<prefix>:models`` for reading states back."""
    return zlib.crc32(version.encode())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _names(registry: Mapping[Any, Any]) -> dict[int, str]:
    """``<prefix>:models`` as read (bytes) as version id -> name."""
    return {int(k): _text(v) for k, v in registry.items()}


def _version_name(stored: int | str, names: Mapping[int, str]) -> str:
    if isinstance(stored, str):  # written before versions were stored as ids
        return stored
    return names.get(stored, f"#{stored:08x}")


def decode_state(
    raw: bytes | None, names: Mapping[int, str] | None = None
) -> EnterpriseState | None:
    """An enterprise's stored value as the fold's state (``None`` if the enterprise is unknown).
    ``names`` maps version ids to model versions (``<prefix>:models``); an id it lacks reads
    as ``#`` and the id in hex."""
    if raw is None:
        return None
    version, asof, klass, score, due, prof, items = msgpack.unpackb(raw)
    contribs: dict[str, Contribution] = {}
    for item in items:
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
            ref=decode_word(ref),
        )
    profile = None
    if prof:
        div, ind, ne, et, pt, ptb = prof
        profile = Profile(str(div), str(ind), bool(ne), decode_word(et), int(pt), int(ptb))
    return EnterpriseState(
        contributions=contribs,
        asof=int(asof),
        klass=int(klass),
        score=int(score),
        due=int(due),
        profile=profile,
        version=_version_name(version, names or {}),
    )


def encode_state(state: EnterpriseState) -> bytes:
    """The stored value of ``state``, as apply.lua writes it (the inverse of decode_state)."""
    contribs = [
        [*_contribution_head(c), int(c.cancelled), encode_word(c.ref)]
        for c in state.contributions.values()
    ]
    profile = _profile_wire(state.profile) if state.profile is not None else False
    version = version_id(state.version)
    value = [version, state.asof, state.klass, state.score, state.due, profile, contribs]
    return cast(bytes, msgpack.packb(value))


def _raw_states(
    client: redis.Redis, keys: Keys, partitions: int
) -> Iterator[tuple[int, bytes, bytes]]:
    for p in range(partitions):
        for bucket in keys.buckets(p):
            for uscc, raw in client.hscan_iter(bucket, count=1_000):
                yield p, uscc, raw


def iter_states(
    client: redis.Redis, keys: Keys, partitions: int
) -> Iterator[tuple[int, str, EnterpriseState]]:
    """Every enterprise stored under ``keys``, as (partition, uscc, state), read a page at a
    time with a synchronous client (for tools and tests; it never blocks Redis)."""
    names = _names(client.hgetall(keys.models()))
    for p, uscc, raw in _raw_states(client, keys, partitions):
        yield p, uscc.decode(), cast(EnterpriseState, decode_state(raw, names))


def newest_asof(client: redis.Redis, keys: Keys, partitions: int) -> int:
    """The latest as-of time among the enterprises under ``keys`` (0 if none), read as
    :func:`iter_states` reads them but without decoding their contributions."""
    newest = 0
    for _, _, raw in _raw_states(client, keys, partitions):
        newest = max(newest, int(msgpack.unpackb(raw)[1]))
    return newest


class Store:
    """Async access to enterprise state. Every write goes through apply.lua (exactly once)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        params: Params,
        partitions: int,
        ledger_window: int = 0,
        script: str = SCRIPT,
    ) -> None:
        """``script``: apply.lua as shipped; a benchmark passes variants of it."""
        self._client = client
        self.keys = Keys(prefix)
        self.params = params
        self.params_arg = params_arg(params, ledger_window)
        self.partitions = partitions
        self._script = script
        self._sha = hashlib.sha1(script.encode()).hexdigest()
        self._names = {version_id(params.version): params.version}
        self._named = False

    async def _name_version(self) -> None:
        # Before the first state is written under this version: states store only its id,
        # and an id another version already holds would make the two indistinguishable.
        key, vid, name = (
            self.keys.models(),
            str(version_id(self.params.version)),
            self.params.version,
        )
        await self._client.hsetnx(key, vid, name)
        held = await self._client.hget(key, vid)
        if held is not None and _text(held) != name:
            raise StoreError(
                f"model version {name!r} has the id of version {held!r} in {key}; "
                "rename the model version"
            )
        self._named = True

    async def _calls(self, calls: Sequence[Call]) -> list[Any]:
        """Run apply.lua once per (keys, args), in one round trip; loads the script if Redis
        does not have it (after a restart) and runs the calls again: every call is idempotent."""
        for attempt in (1, 2):
            try:
                if not self._named:
                    await self._name_version()
                if len(calls) == 1:
                    keys, args = calls[0]
                    return [await self._client.evalsha(self._sha, len(keys), *keys, *args)]
                async with self._client.pipeline(transaction=False) as pipe:
                    for keys, args in calls:
                        pipe.evalsha(self._sha, len(keys), *keys, *args)
                    replies: list[Any] = await pipe.execute()
                    return replies
            except rexc.NoScriptError:
                if attempt == 2:
                    raise StoreError("redis lost apply.lua right after loading it") from None
                try:
                    await self._client.script_load(self._script)
                except _UNAVAILABLE as exc:
                    raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
            except _UNAVAILABLE as exc:
                raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
            except rexc.RedisError as exc:
                raise StoreError(f"redis refused apply.lua: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def apply_batch(self, requests: Sequence[ApplyRequest]) -> list[StoreResult]:
        """Apply changes in log order per partition, in one round trip; duplicates change
        nothing. Results are in the order of ``requests``.

        Raises StoreUnavailableError (retry the whole batch: it is idempotent) or StoreError.
        """
        if not requests:
            return []
        calls, order = plan_calls(self.keys, self.params_arg, requests)
        out: list[StoreResult | None] = [None] * len(requests)
        for i, result in zip(order, await self.execute(calls), strict=True):
            out[i] = result
        return cast(list[StoreResult], out)

    async def execute(self, calls: Sequence[Call]) -> list[StoreResult]:
        """Run calls from :func:`plan_calls`; one result per event, in call order."""
        return [_result(raw) for raw in await self.execute_raw(calls)]

    async def execute_raw(self, calls: Sequence[Call]) -> list[bytes]:
        """:meth:`execute` with each event's reply as apply.lua gave it (``status|...``), for
        a caller that only counts them."""
        if not calls:
            return []
        return [raw for reply in await self._calls(calls) for raw in reply]

    def state_hashes(self) -> list[tuple[int, int]]:
        """(partition, bucket) of every hash that can hold an enterprise's state."""
        return [(p, b) for p in range(self.partitions) for b in range(STATE_BUCKETS)]

    async def reclassify(
        self, hashes: Sequence[tuple[int, int]], *, force: bool = False, outbox: bool = False
    ) -> ReclassifyPage:
        """Re-evaluate every enterprise in the state ``hashes`` (from :meth:`state_hashes`)
        under this store's parameters, each at its own asof, skipping those already evaluated
        under this model version unless ``force``. Redis walks each hash itself (HSCAN in
        apply.lua, up to MAX_CALL_EVENTS enterprises a call; the calls of all hashes in one
        round trip) and answers only with counts and the class changes, so neither keys nor
        states travel to Python. Idempotent.

        With ``outbox``, each class change is also kept in its partition's outbox, written
        with the state, until :meth:`clear_outbox` (once its alert is acked); what a crash
        left there, :meth:`outbox` returns."""
        mode = "force" if force else ""
        page = ReclassifyPage()
        todo = [(p, b, "0") for p, b in hashes]
        while todo:
            calls: list[Call] = [
                (
                    [*self.keys.shared(p), self.keys.buckets(p)[b]]
                    + ([self.keys.outbox(p)] if outbox else []),
                    [self.params_arg, "reclassify", mode, cursor, str(MAX_CALL_EVENTS)],
                )
                for p, b, cursor in todo
            ]
            replies = await self._calls(calls)
            more = []
            for (p, b, _), reply in zip(todo, replies, strict=True):
                page.scanned += int(reply[1])
                page.reevaluated += int(reply[2])
                for raw in reply[3:]:
                    uscc, rest = raw.split(b"|", 1)
                    page.changed.append(self._changed(p, uscc, rest, self.params.version))
                if reply[0] != b"0":
                    more.append((p, b, reply[0].decode()))
            todo = more
        return page

    @staticmethod
    def _changed(partition: int, uscc: bytes, outcome: bytes, version: str) -> ReclassifyResult:
        return ReclassifyResult(uscc.decode(), _outcome(outcome.split(b"|", 5)), partition, version)

    async def outbox(self) -> list[ReclassifyResult]:
        """The class changes of reclassify runs whose alerts were not acked (a run cut short
        after its Redis write), each with the model version it was made under."""
        try:
            pipe = self._client.pipeline(transaction=False)
            for p in range(self.partitions):
                pipe.hgetall(self.keys.outbox(p))
            pages: list[dict[bytes, bytes]] = await pipe.execute()
            if any(pages):
                self._names.update(_names(await self._client.hgetall(self.keys.models())))
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
        out: list[ReclassifyResult] = []
        for p, page in enumerate(pages):
            for uscc, value in sorted(page.items()):
                vid, outcome = value.split(b"|", 1)
                name = self._names.get(int(vid), f"#{int(vid)}")
                out.append(self._changed(p, uscc, outcome, name))
        return out

    async def clear_outbox(self, results: Iterable[ReclassifyResult]) -> None:
        """Forget ``results`` in the outbox (their alerts are acked), in one round trip."""
        by_partition: dict[int, list[str]] = {}
        for r in results:
            by_partition.setdefault(r.partition, []).append(r.uscc)
        if not by_partition:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for p, usccs in by_partition.items():
                pipe.hdel(self.keys.outbox(p), *usccs)
            await pipe.execute()
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc

    async def get(self, partition: int, uscc: str) -> EnterpriseState | None:
        try:
            raw = await self._client.hget(self.keys.states(partition, uscc), uscc)
            state = decode_state(cast("bytes | None", raw), self._names)
            if state is not None and state.version.startswith("#"):
                # Written under another model: its name is in the registry.
                self._names.update(_names(await self._client.hgetall(self.keys.models())))
                state = decode_state(cast(bytes, raw), self._names)
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
        return state

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
