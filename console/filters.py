"""Which messages a stream or a listing shows: ``?types=``, ``?division=`` and ``?industry=``.

- ``types``: a comma list of CloudEvents types (``riskmon.alert.warning``) or of prefixes
  ending in a dot (``riskmon.alert.``: every alert); empty or absent: every type.
- ``division``: a GB/T 2260 code or a prefix of one (``6101`` matches ``610112``).
- ``industry``: a GB/T 4754 section letter, or a section with its two-digit division
  (``C`` matches ``C13``).

Where a message stands: an early warning carries ``division`` and ``industry`` in its data; an
area warning names its area in its subject (``division:<code>``, ``industry:<code>``); a class
change or a task has only the enterprise's USCC, whose registration (its scoring profile) the
caller looks up. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["FilterError", "Place", "StreamFilter", "parse_filter", "place_of"]

_TYPE = re.compile(r"[a-z0-9_.-]{1,120}")
_DIVISION = re.compile(r"[0-9]{2,6}")
_INDUSTRY = re.compile(r"[A-T]([0-9]{1,4})?")
#: Most types a filter may list.
MAX_TYPES: Final = 32


class FilterError(ValueError):
    """A filter parameter that is not of its form; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a message stands: its area codes (None: unknown or none), and the enterprise
    whose registration says it when the message does not (None: an area's own message)."""

    division: str | None
    industry: str | None
    uscc: str | None

    @property
    def needs_lookup(self) -> bool:
        return self.uscc is not None and (self.division is None or self.industry is None)


def place_of(doc: Mapping[str, Any]) -> Place:
    """Where the CloudEvent ``doc`` (parsed JSON) stands, as far as it says itself."""
    data = doc.get("data")
    data = data if isinstance(data, Mapping) else {}
    subject = str(doc.get("subject") or "")
    division = data.get("division") if isinstance(data.get("division"), str) else None
    industry = data.get("industry") if isinstance(data.get("industry"), str) else None
    kind, _, code = subject.partition(":")
    if kind == "division" and code:
        return Place(code, None, None)
    if kind == "industry" and code:
        return Place(None, code, None)
    uscc = data.get("uscc") if isinstance(data.get("uscc"), str) else subject or None
    return Place(division, industry, uscc)


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What to show; empty tuples and None match everything."""

    exact: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    division: str | None = None
    industry: str | None = None

    @property
    def by_place(self) -> bool:
        """Whether :meth:`admits` needs the message's place."""
        return self.division is not None or self.industry is not None

    def admits_type(self, etype: str) -> bool:
        if not self.exact and not self.prefixes:
            return True
        return etype in self.exact or etype.startswith(self.prefixes)

    def admits(self, etype: str, place: Place | None) -> bool:
        """Whether a message of ``etype`` at ``place`` passes (``place`` None: unknown, which
        no place filter admits)."""
        if not self.admits_type(etype):
            return False
        if not self.by_place:
            return True
        if place is None:
            return False
        if self.division is not None and not (place.division or "").startswith(self.division):
            return False
        return self.industry is None or (place.industry or "").startswith(self.industry)


def parse_filter(query: Mapping[str, str]) -> StreamFilter:
    """The filter of a request's query. Raises :class:`FilterError` naming a bad parameter."""
    exact: set[str] = set()
    prefixes: list[str] = []
    types = [t.strip() for t in query.get("types", "").split(",") if t.strip()]
    if len(types) > MAX_TYPES:
        raise FilterError(f"types: at most {MAX_TYPES}")
    for t in types:
        if not _TYPE.fullmatch(t):
            raise FilterError("types: CloudEvents types, or prefixes ending in '.'")
        if t.endswith("."):
            prefixes.append(t)
        else:
            exact.add(t)
    division = query.get("division", "").strip() or None
    if division is not None and not _DIVISION.fullmatch(division):
        raise FilterError("division: a GB/T 2260 code or its prefix (2-6 digits)")
    industry = query.get("industry", "").strip().upper() or None
    if industry is not None and not _INDUSTRY.fullmatch(industry):
        raise FilterError("industry: a GB/T 4754 section letter, optionally with 2 digits")
    return StreamFilter(frozenset(exact), tuple(sorted(prefixes)), division, industry)
