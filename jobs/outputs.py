"""The output ids a log warrants: what ``riskmon replay --outputs`` writes (pure but for the file).

For every event replayed, the alerts and tasks its outcome and the time-driven changes it
brought about warrant (:func:`alerts.rules.event_messages`, as the worker sends them), the
messages supervision sends for it (replay adds those: tasks, overdue tasks, observation periods,
risk reminders of kind ``reminder``), and for every record replay refuses, the dead letter the
worker would publish. Since outputs are a function of the log alone (its records and their
order), these are the ids a live worker sent for the same log: alert, task and reminder ids on
their topics, dead letters by their ``dlq_partition``, ``dlq_offset`` and ``dlq_reason``
headers.

One JSON object a line, sorted by kind (``alert``, ``dead_letter``, ``reminder``, ``task``), then
by id, or for a dead letter by partition and offset::

    {"kind": "alert", "id": "…", "type": "riskmon.alert.class_changed"}
    {"kind": "dead_letter", "partition": 3, "offset": 17, "reason": "invalid_uscc"}
    {"kind": "task", "id": "…", "type": "riskmon.task.created"}
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from alerts.rules import event_messages
from schemas.codec import dumps
from scoring.store import StoreResult
from streams.planning import Planned, Record

__all__ = ["STDOUT", "Outputs"]

#: ``--outputs`` value meaning standard output.
STDOUT = "-"


@dataclass
class Outputs:
    """The outputs of the batches :meth:`add` was given, in any order."""

    model_version: str
    #: (kind, id, type) of each alert and task
    messages: set[tuple[str, str, str]] = field(default_factory=set)
    #: (partition, offset, reason) of each dead letter
    dead_letters: set[tuple[int, int, str]] = field(default_factory=set)

    def add(
        self, records: Sequence[Record], planned: Planned, results: Sequence[StoreResult]
    ) -> None:
        """One planned batch of ``records`` and its store results (one per planned event)."""
        for i, reason, _detail in planned.dead:
            rec = records[i]
            self.dead_letters.add((rec.partition, rec.offset, reason))
        version = self.model_version
        for (_, etype, subject, source, eid, _), res in zip(planned.events, results, strict=True):
            for m in event_messages(subject, source, eid, etype, res.outcome, res.fired, version):
                self.messages.add((m.kind, m.id, m.type))

    def lines(self) -> Iterator[bytes]:
        """Every output as a JSON line (with its newline), sorted."""
        rows: list[tuple[str, tuple[str, str] | tuple[int, int], dict[str, object]]] = [
            (kind, (mid, mtype), {"kind": kind, "id": mid, "type": mtype})
            for kind, mid, mtype in self.messages
        ]
        rows += [
            (
                "dead_letter",
                (p, o),
                {"kind": "dead_letter", "partition": p, "offset": o, "reason": r},
            )
            for p, o, r in self.dead_letters
        ]
        rows.sort(key=lambda row: (row[0], row[1]))
        for _, _, doc in rows:
            yield dumps(doc) + b"\n"

    def write(self, target: str) -> int:
        """Write :meth:`lines` to the file ``target`` (``-``: standard output); returns how many.
        Raises OSError if the file cannot be written."""
        n = 0
        with _open(target) as f:
            for line in self.lines():
                f.write(line)
                n += 1
        return n


@contextlib.contextmanager
def _open(target: str) -> Iterator[BinaryIO]:
    if target == STDOUT:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with Path(target).open("wb") as f:
        yield f
