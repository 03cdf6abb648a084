"""Regional and industry counts: what apply.lua keeps per area, read back summed over partitions.

An *area* is a division (GB/T 2260 county-level code) or an industry (GB/T 4754 section letter,
and section + two-digit division: an enterprise of ``F5191`` counts under ``F`` and ``F51``).
An enterprise without a profile yet (classified before its registration event) counts under
the area ``unknown`` of each kind until its profile arrives. apply.lua keeps, per partition
(key layout in ``scoring/store/keys.py``; docs/areas.md):

* enterprises per (division, industry) pair and class, one field each: always :func:`recount`
  of the partition's stored states, whatever order the events came in (the script moves an
  enterprise's count with its state); readers sum the pairs into divisions, industries and
  sections (:func:`areas_of`);
* entries into C and D per area and day (UTC+8 calendar day of the change's event time), under
  the profile the enterprise had when its class changed;
* each division's enterprises in C and D, for paging.

The readers here sum the partitions with pipelined reads of fixed keys (never a SCAN):
:func:`read_areas` (counts, and daily entries over the weeks a rule needs, ending on the day
of the event-time watermark: two round trips), :func:`area_rows` (the table the API and the
console show) and :func:`region_members` (a division's enterprises in C and D, paged by
USCC). Each raises ``StoreUnavailableError`` when Redis cannot answer.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import redis.asyncio as aioredis

from schemas.alerts import AreaKind
from schemas.classes import CLASSES
from scoring.changes import Profile
from scoring.fold import EnterpriseState
from scoring.store.errors import redis_errors
from scoring.store.keys import Keys
from scoring.store.wire import text

__all__ = [
    "DAY_SHIFT_SECONDS",
    "TRAILING_WEEKS",
    "UNKNOWN",
    "AreaRow",
    "AreaSnapshot",
    "Member",
    "MembersPage",
    "area_pair",
    "area_rows",
    "areas_of",
    "day_of",
    "day_start",
    "read_areas",
    "recount",
    "region_members",
    "rows",
]

#: The area of an enterprise whose division (or industry) is not known yet.
UNKNOWN: Final = "unknown"
#: Days are calendar days in China Standard Time (UTC+8): day n starts at n * 86400 - this.
DAY_SHIFT_SECONDS: Final = 8 * 3600
#: Weeks of D entries before the last 7 days that the API's trend compares with.
TRAILING_WEEKS: Final = 8


def day_of(t: int) -> int:
    """The day (days since 1970-01-01, UTC+8) of Unix time ``t`` (s)."""
    return (t + DAY_SHIFT_SECONDS) // 86_400


def day_start(day: int) -> int:
    """Unix time (s) at which ``day`` begins."""
    return day * 86_400 - DAY_SHIFT_SECONDS


def area_pair(profile: Profile | None) -> tuple[str, str]:
    """The (division, industry) an enterprise with ``profile`` counts under, as apply.lua's
    area_codes: the division code or ``unknown``; the industry's section and two-digit
    division (``F5191`` -> ``F51``), a bare section as it is, or ``unknown``."""
    division = (profile.division if profile is not None else "") or UNKNOWN
    industry = profile.industry if profile is not None else ""
    if not industry:
        return division, UNKNOWN
    return division, industry[:3] if len(industry) >= 3 else industry[0]


def areas_of(division: str, industry: str) -> tuple[tuple[AreaKind, str], ...]:
    """The areas a (division, industry) pair counts in: the division, the industry, and the
    industry's section when the industry is a two-digit division."""
    if len(industry) == 3 and industry != UNKNOWN:
        return (("division", division), ("industry", industry), ("industry", industry[0]))
    return (("division", division), ("industry", industry))


def recount(states: Iterable[tuple[str, EnterpriseState]]) -> tuple[dict[str, int], set[str]]:
    """The specification of the area counts: from (uscc, state) pairs, the count hash's fields
    (``<division>|<industry>|<K>`` -> enterprises; zero counts absent) and the index members
    (``<division>|<uscc>|<K>`` of those in C and D) that apply.lua must hold for them."""
    counts: dict[str, int] = {}
    members: set[str] = set()
    for uscc, st in states:
        name = CLASSES[st.klass - 1]
        division, industry = area_pair(st.profile)
        field = f"{division}|{industry}|{name}"
        counts[field] = counts.get(field, 0) + 1
        if st.klass >= 3:
            members.add(f"{division}|{uscc}|{name}")
    return counts, members


@dataclass(frozen=True, slots=True)
class AreaSnapshot:
    """The area counts of every partition, summed. ``day``: the last day of the daily series
    (the day of ``asof``); ``asof``: the event-time watermark, the latest of the partitions'
    (Unix s; 0 before any event). ``enterprises``: (kind, code) -> class -> enterprises;
    ``c_daily``, ``d_daily``: (kind, code) -> entries into C (D) per day, oldest first, the
    last for ``day`` (areas with none absent)."""

    day: int
    asof: int
    days: int
    enterprises: Mapping[tuple[AreaKind, str], Mapping[str, int]]
    c_daily: Mapping[tuple[AreaKind, str], tuple[int, ...]]
    d_daily: Mapping[tuple[AreaKind, str], tuple[int, ...]]

    def district(self) -> dict[str, int]:
        """Enterprises per class in the whole district (the divisions', unknown included)."""
        out: dict[str, int] = dict.fromkeys(CLASSES, 0)
        for (kind, _), by_class in self.enterprises.items():
            if kind == "division":
                for k, n in by_class.items():
                    out[k] += n
        return out


@dataclass(frozen=True, slots=True)
class AreaRow:
    """One line of ``GET /regions`` or ``/industries`` and of the console's tables.

    ``cd_share``: C+D among its enterprises (0 when it has none); ``d_entries_7d``,
    ``c_entries_7d``: entries in the 7 days ending on the snapshot's day; ``d_weekly_mean``:
    mean D entries a week over the :data:`TRAILING_WEEKS` weeks before; ``trend``:
    ``d_entries_7d - d_weekly_mean`` (positive: more entries into D than usual)."""

    kind: AreaKind
    code: str
    enterprises: int
    by_class: Mapping[str, int]
    cd_share: float
    d_entries_7d: int
    c_entries_7d: int
    d_weekly_mean: float
    trend: float

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "enterprises": self.enterprises,
            "by_class": dict(self.by_class),
            "cd_share": self.cd_share,
            "d_entries_7d": self.d_entries_7d,
            "c_entries_7d": self.c_entries_7d,
            "d_weekly_mean": self.d_weekly_mean,
            "trend": self.trend,
        }


def rows(snapshot: AreaSnapshot, kind: AreaKind) -> list[AreaRow]:
    """The rows of ``kind`` in ``snapshot``, by code; every area with an enterprise or an
    entry in the window. Pure."""
    known = (*snapshot.enterprises, *snapshot.d_daily, *snapshot.c_daily)
    codes = {c for k, c in known if k == kind}
    trailing_days = min(TRAILING_WEEKS * 7, max(snapshot.days - 7, 0))
    out = []
    for code in sorted(codes):
        counted = snapshot.enterprises.get((kind, code), {})
        by_class: dict[str, int] = {k: counted.get(k, 0) for k in CLASSES}
        n = sum(by_class.values())
        d = snapshot.d_daily.get((kind, code), ())
        c = snapshot.c_daily.get((kind, code), ())
        mean = sum(d[-7 - trailing_days : -7]) / (trailing_days / 7) if trailing_days else 0.0
        last = sum(d[-7:])
        out.append(
            AreaRow(
                kind=kind,
                code=code,
                enterprises=n,
                by_class=by_class,
                cd_share=(by_class["C"] + by_class["D"]) / n if n else 0.0,
                d_entries_7d=last,
                c_entries_7d=sum(c[-7:]),
                d_weekly_mean=mean,
                trend=last - mean,
            )
        )
    return out


def _split(field: Any) -> tuple[tuple[tuple[AreaKind, str], ...], str]:
    division, industry, klass = text(field).split("|")
    return areas_of(division, industry), klass


async def read_areas(
    client: aioredis.Redis, keys: Keys, partitions: int, *, weeks: int = TRAILING_WEEKS + 1
) -> AreaSnapshot:
    """Every partition's area counts, and the daily entries of the ``weeks`` weeks ending on
    the day of the event-time watermark, summed: two pipelined round trips."""
    with redis_errors("reading the area counts"):
        async with client.pipeline(transaction=False) as pipe:
            for p in range(partitions):
                pipe.hget(keys.meta(p), "ew")
                pipe.hgetall(keys.areas(p))
            head = await pipe.execute()
        asof = max((int(v) for v in head[0::2] if v is not None), default=0)
        day, days = day_of(asof), weeks * 7
        async with client.pipeline(transaction=False) as pipe:
            for p in range(partitions):
                for d in range(day - days + 1, day + 1):
                    pipe.hgetall(keys.area_day(p, d))
            daily = await pipe.execute()
    enterprises: dict[tuple[AreaKind, str], dict[str, int]] = {}
    for counts in head[1::2]:
        for field, v in counts.items():
            areas, klass = _split(field)
            for area in areas:
                by_class = enterprises.setdefault(area, {})
                by_class[klass] = by_class.get(klass, 0) + int(v)
    series: dict[tuple[AreaKind, str, str], list[int]] = {}
    for i, entries in enumerate(daily):
        for field, v in entries.items():
            areas, klass = _split(field)
            for kind, code in areas:
                series.setdefault((kind, code, klass), [0] * days)[i % days] += int(v)
    return AreaSnapshot(
        day=day,
        asof=asof,
        days=days,
        enterprises=enterprises,
        c_daily={(k, c): tuple(v) for (k, c, x), v in series.items() if x == "C"},
        d_daily={(k, c): tuple(v) for (k, c, x), v in series.items() if x == "D"},
    )


async def area_rows(
    client: aioredis.Redis, keys: Keys, partitions: int, kind: AreaKind
) -> list[AreaRow]:
    """The table of ``kind`` (``division`` or ``industry``) as the API serves it (:func:`rows`
    of :func:`read_areas`)."""
    return rows(await read_areas(client, keys, partitions), kind)


@dataclass(frozen=True, slots=True)
class Member:
    uscc: str
    klass: str


@dataclass(frozen=True, slots=True)
class MembersPage:
    """Enterprises of a division in C and D, by USCC; ``next_cursor``: the USCC to pass as
    ``after`` for the next page, None on the last."""

    members: tuple[Member, ...]
    next_cursor: str | None


async def region_members(
    client: aioredis.Redis,
    keys: Keys,
    partitions: int,
    division: str,
    *,
    limit: int,
    after: str | None = None,
) -> MembersPage:
    """A page of ``division``'s enterprises in C and D, by USCC, after USCC ``after``: one
    lexical range read of ``limit + 1`` members per partition, merged."""
    low = f"[{division}|" if after is None else f"({division}|{after}|\xff"
    high = f"({division}}}"  # "}" follows "|": every member of the division sorts below it
    with redis_errors("reading a division's enterprises"):
        async with client.pipeline(transaction=False) as pipe:
            for p in range(partitions):
                pipe.zrangebylex(keys.area_index(p), low, high, start=0, num=limit + 1)
            found = await pipe.execute()
    parts = ([text(m).split("|") for m in part] for part in found)
    merged = heapq.merge(*parts, key=lambda m: m[1])
    members = [Member(uscc, klass) for _, uscc, klass in merged]
    more = len(members) > limit
    page = tuple(members[:limit])
    return MembersPage(page, page[-1].uscc if more else None)
