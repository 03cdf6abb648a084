"""Recent alerts and their acknowledgements, in memory: a function of the alerts and acks
topics, read from their beginning when the console starts and followed after.

Bounded: at most :data:`MAX_ALERTS` alerts (the newest by their CloudEvent ``time``; an older
one is dropped when a newer one comes past the bound) and :data:`MAX_ACKS` acknowledgements
(the oldest read dropped first). A district's alerts of several months fit; what is dropped
is still on the topic (``riskmon alerts`` prints it), and a restarted console keeps the newest.

An alert is kept once per id (a redelivered alert re-sends the same id). The first
acknowledgement of an alert in the acks topic's order wins; every later one is ignored, so
every console that reads the topic shows the same one. The acks topic is keyed by the alert
id, so all acknowledgements of one alert are in one partition, in one order.

Pure: no I/O, no clock (times come from the messages).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from schemas.alerts import ALERT_CLASS_CHANGED

__all__ = [
    "ACK_TYPE",
    "MAX_ACKS",
    "MAX_ALERTS",
    "Ack",
    "AlertIndex",
    "Entry",
    "ack_envelope",
    "ack_id",
    "parse_time",
]

#: Alerts the console keeps (see the module's docstring).
MAX_ALERTS: Final = 20_000
#: Acknowledgements it keeps.
MAX_ACKS: Final = 40_000
#: The CloudEvents type of an acknowledgement on the acks topic.
ACK_TYPE: Final = "riskmon.alert.acknowledged"
ACK_SOURCE: Final = "/riskmon/console"
#: Longest note kept with an acknowledgement, in characters.
MAX_NOTE_CHARS: Final = 500


def parse_time(text: object) -> int | None:
    """An RFC 3339 time as microseconds since the epoch (None: not one, or naive)."""
    if not isinstance(text, str):
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        return None
    return round(t.timestamp() * 1_000_000)


def ack_id(alert_id: str) -> str:
    """The id of the acknowledgement of ``alert_id``: derived from it, so that two consoles
    (or a retried request) acknowledging one alert publish the same id."""
    return f"{alert_id}/ack"


def ack_envelope(alert_id: str, actor: str, note: str, when: str) -> dict[str, Any]:
    """The CloudEvent of an acknowledgement (``when``: RFC 3339, the wall clock of the ack)."""
    return {
        "specversion": "1.0",
        "id": ack_id(alert_id),
        "source": ACK_SOURCE,
        "type": ACK_TYPE,
        "subject": alert_id,
        "time": when,
        "datacontenttype": "application/json",
        "data": {"alert_id": alert_id, "actor": actor, "note": note[:MAX_NOTE_CHARS], "time": when},
    }


@dataclass(frozen=True, slots=True)
class Ack:
    """Who acknowledged an alert, when (RFC 3339) and with what note."""

    alert_id: str
    actor: str
    note: str
    time: str

    def to_json(self) -> dict[str, str]:
        return {
            "alert_id": self.alert_id,
            "actor": self.actor,
            "note": self.note,
            "time": self.time,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """One alert: its CloudEvent (parsed JSON) and where it was read."""

    id: str
    type: str
    time_us: int
    doc: Mapping[str, Any]
    topic: str
    partition: int
    offset: int

    @property
    def key(self) -> tuple[int, str]:
        return (self.time_us, self.id)


def _ack_of(doc: Mapping[str, Any]) -> Ack | None:
    data = doc.get("data")
    if doc.get("type") != ACK_TYPE or not isinstance(data, Mapping):
        return None
    fields = [data.get(k) for k in ("alert_id", "actor", "note", "time")]
    if not all(isinstance(f, str) for f in fields[:2]):
        return None
    alert, actor, note, when = (str(f or "") for f in fields)
    return Ack(alert, actor, note[:MAX_NOTE_CHARS], when)


class AlertIndex:
    """The alerts and acknowledgements read so far. ``on_acked(seconds)`` is called once per
    alert when both it and its acknowledgement are known: the time from the alert's ``time``
    to the acknowledgement's (for the time-to-acknowledge histogram)."""

    def __init__(
        self,
        max_alerts: int = MAX_ALERTS,
        max_acks: int = MAX_ACKS,
        on_acked: Callable[[float], None] | None = None,
    ) -> None:
        self._max_alerts = max_alerts
        self._max_acks = max_acks
        self._on_acked = on_acked
        self._by_id: dict[str, Entry] = {}
        self._order: list[tuple[int, str]] = []  # ascending (time, id)
        self._acks: dict[str, Ack] = {}
        self._timed: set[str] = set()  # alerts whose time to acknowledge was reported

    def __len__(self) -> int:
        return len(self._by_id)

    def add_alert(
        self, doc: Mapping[str, Any], topic: str = "", partition: int = 0, offset: int = 0
    ) -> Entry | None:
        """Keep the alert ``doc``; the entry, or None if it is a duplicate, has no id or time,
        or is older than every kept alert of a full index."""
        aid, when = doc.get("id"), parse_time(doc.get("time"))
        if not isinstance(aid, str) or not aid or when is None or aid in self._by_id:
            return None
        entry = Entry(aid, str(doc.get("type", "")), when, doc, topic, partition, offset)
        if len(self._order) >= self._max_alerts:
            if entry.key <= self._order[0]:
                return None
            _, gone = self._order.pop(0)
            del self._by_id[gone]
        bisect.insort(self._order, entry.key)
        self._by_id[aid] = entry
        self._report(aid)
        return entry

    def add_ack(self, doc: Mapping[str, Any]) -> Ack | None:
        """Apply the acknowledgement ``doc``; the ack if it is the first of its alert, else
        None (a later one, or not an acknowledgement)."""
        ack = _ack_of(doc)
        if ack is None or ack.alert_id in self._acks:
            return None
        if len(self._acks) >= self._max_acks:
            oldest = next(iter(self._acks))
            del self._acks[oldest]
            self._timed.discard(oldest)
        self._acks[ack.alert_id] = ack
        self._report(ack.alert_id)
        return ack

    def _report(self, aid: str) -> None:
        entry, ack = self._by_id.get(aid), self._acks.get(aid)
        if entry is None or ack is None or aid in self._timed or self._on_acked is None:
            return
        acked = parse_time(ack.time)
        if acked is None:
            return
        self._timed.add(aid)
        self._on_acked(max(0.0, (acked - entry.time_us) / 1_000_000))

    def get(self, alert_id: str) -> Entry | None:
        return self._by_id.get(alert_id)

    def ack_of(self, alert_id: str) -> Ack | None:
        return self._acks.get(alert_id)

    def counts(self) -> tuple[int, int]:
        """(open, acknowledged) among the kept alerts."""
        acked = sum(1 for aid in self._by_id if aid in self._acks)
        return len(self._by_id) - acked, acked

    def page(
        self,
        *,
        limit: int,
        before: tuple[int, str] | None = None,
        since_us: int | None = None,
        admits: Callable[[Entry], bool] | None = None,
    ) -> tuple[list[Entry], tuple[int, str] | None]:
        """Up to ``limit`` alerts, newest first (by time, then id), strictly before
        ``before``, at or after ``since_us``, that ``admits``; and the key to pass as
        ``before`` for the next page (None: no more)."""
        end = len(self._order) if before is None else bisect.bisect_left(self._order, before)
        out: list[Entry] = []
        for i in range(end - 1, -1, -1):
            key = self._order[i]
            if since_us is not None and key[0] < since_us:
                break
            entry = self._by_id[key[1]]
            if admits is not None and not admits(entry):
                continue
            if len(out) == limit:
                return out, out[-1].key
            out.append(entry)
        return out, None

    def history(self, uscc: str) -> Sequence[Entry]:
        """The kept class changes of ``uscc``, oldest first."""
        found = [
            e
            for key in self._order
            if (e := self._by_id[key[1]]).type == ALERT_CLASS_CHANGED
            and e.doc.get("subject") == uscc
        ]
        return found
