"""Seeded event logs for end-to-end and fault tests: re-published duplicates, out-of-order
event times, and a few poison records of each kind; and such a log as it stands in a topic once
published (:func:`as_published`), which is what the reference (tests/support/oracle.py) folds."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

from schemas.codec import CreditEvent, encode_event
from schemas.uscc import make_uscc
from streams.planning import Record
from streams.topics import partition_for
from tests.support.builders import event


@dataclass(frozen=True)
class LogRecord:
    key: bytes | None
    value: bytes
    poison: str = ""  # the dead-letter reason expected, if any


def seeded_log(
    seed: int,
    enterprises: int = 50,
    events: int = 600,
    duplicate_ratio: float = 0.1,
    poison: bool = True,
    now: dt.datetime | None = None,
    disorder: float = 1.0,
) -> list[LogRecord]:
    """``enterprises`` registered, then ``events`` in all over ~690 days; ``disorder``: the
    share of events (after the registrations) out of event-time order (1: arrival order is
    random; 0.2: a feed in time order, one event in five late or early)."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    usccs = [make_uscc(rng) for _ in range(enterprises)]
    start = now - dt.timedelta(days=700)
    out: list[CreditEvent] = []
    for uscc in usccs:
        out.append(
            event(
                "enterprise.registered",
                {
                    "name": f"企业{uscc[-6:]}",
                    "division_code": "610112",
                    "industry_code": rng.choice(["F5191", "H6210", "C1311", "L7212"]),
                    "founded_on": str((start - dt.timedelta(days=rng.randint(0, 3000))).date()),
                    "registered_capital_cny": rng.choice([1e5, 1e6, 1e7]),
                    "new_economy": rng.random() < 0.2,
                },
                when=start + dt.timedelta(hours=rng.randint(0, 48)),
                subject=uscc,
                eid=f"reg-{uscc}",
                source="/gsxt/610112",
            )
        )
    for i in range(events - enterprises):
        uscc = rng.choice(usccs)
        when = start + dt.timedelta(seconds=rng.randint(0, 690 * 86_400))
        kind = rng.random()
        dec = f"D{rng.randint(0, 3)}-{uscc[-4:]}"
        if kind < 0.25:
            data = {
                "decision_number": dec,
                "domain": rng.choice(["food", "price", "quality", "drug"]),
                "fine_cny": rng.choice([0, 5_000, 50_000, 500_000, 2_000_000]),
                "severity": rng.choice(["minor", "ordinary", "serious", "grave"]),
            }
            ev = event("penalty.imposed", data, when=when, subject=uscc, eid=f"e{i}")
        elif kind < 0.30:
            ev = event(
                "penalty.revoked", {"decision_number": dec}, when=when, subject=uscc, eid=f"e{i}"
            )
        elif kind < 0.38:
            data = {"decision_number": dec, "reason": "unreachable_at_address"}
            ev = event("abnormal_list.added", data, when=when, subject=uscc, eid=f"e{i}")
        elif kind < 0.44:
            data = {"decision_number": dec}
            ev = event("abnormal_list.removed", data, when=when, subject=uscc, eid=f"e{i}")
        elif kind < 0.47:
            data = {"decision_number": dec, "reason": "fraud"}
            ev = event("serious_violation.added", data, when=when, subject=uscc, eid=f"e{i}")
        elif kind < 0.50:
            data = {"decision_number": dec}
            ev = event("serious_violation.removed", data, when=when, subject=uscc, eid=f"e{i}")
        elif kind < 0.80:
            data = {"channel": "12315_hotline", "category": "quality"}
            ev = event("complaint.received", data, when=when, subject=uscc, eid=f"e{i}")
        else:
            result = rng.choice(["no_problem", "corrected", "problems_found", "refused"])
            ev = event(
                "inspection.completed", {"result": result}, when=when, subject=uscc, eid=f"e{i}"
            )
        out.append(ev)
    # arrival order is not event-time order
    body = out[enterprises:]
    if disorder >= 1:
        rng.shuffle(body)
    else:
        # a feed in event-time order, but for a share of the events, which come at the place
        # of another of that share: late, or early
        body.sort(key=lambda e: e.time)
        places = sorted(rng.sample(range(len(body)), int(len(body) * disorder)))
        moved = [body[i] for i in places]
        rng.shuffle(moved)
        for i, e in zip(places, moved, strict=True):
            body[i] = e
    out = out[:enterprises] + body
    records = [LogRecord(e.subject.encode(), encode_event(e)) for e in out]
    # re-published duplicates: the same source + id again, later in the log
    for _ in range(int(len(records) * duplicate_ratio)):
        dup = rng.choice(records)
        records.insert(rng.randint(records.index(dup) + 1, len(records)), dup)
    if poison:
        doc = orjson.loads(records[1].value)
        bad_uscc = orjson.dumps({**doc, "id": "bad-uscc", "subject": "91350203M0001QAY9B"})
        records[5:5] = [
            LogRecord(b"x", b"\xff\xfenot json", "not_json"),
            LogRecord(usccs[0].encode(), b"[1, 2, 3]", "not_cloudevent"),
            LogRecord(b"91350203M0001QAY9B", bad_uscc, "invalid_uscc"),
            LogRecord(usccs[1].encode(), b"{" * 5000, "not_json"),
            LogRecord(usccs[1].encode(), b'{"a": "' + b"x" * 70_000 + b'"}', "oversized"),
        ]
    return records


def as_published(
    records: Iterable[LogRecord],
    topic: str,
    partitions: int,
    forced: Mapping[int, int] | None = None,
) -> list[Record]:
    """``records`` as they stand in ``topic`` (empty before) once published in this order by
    a producer that keeps each partition's order (tests/support/scenario.py's ``publish``):
    each in the partition murmur2 gives its key (or ``forced[i]``), at the next offset there.
    Sorted as :func:`tests.support.harness.read_topic` returns a topic: by partition, offset."""
    nxt = [0] * partitions
    out = []
    for i, rec in enumerate(records):
        assert rec.key is not None or i in (forced or {}), "a keyless record's partition is random"
        part = (forced or {}).get(i)
        if part is None:
            part = partition_for(rec.key or b"", partitions)
        out.append(Record(topic, part, nxt[part], rec.key, rec.value))
        nxt[part] += 1
    out.sort(key=lambda r: (r.partition, r.offset))
    return out
