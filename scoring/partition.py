"""A partition's log in event time (pure): the specification of when time-driven class changes
happen, which ``scoring/store/apply.lua`` implements and the reference fold of the tests runs.

An enterprise's class also changes with time alone (a penalty fades, a listing's period ends,
a credit runs out): :func:`scoring.fold.next_change` finds that moment, its ``due``. When it
takes effect must not depend on the wall clock or on how fast the log is read, or two runs of
one log would send different alerts. So a partition keeps a watermark, the latest event time
among the events applied from it, in log order, and a change is made when the watermark
passes its due moment (less the model's allowed lateness):

1. an event whose time is past the watermark raises it; then every enterprise of the partition
   whose change is due by then is re-evaluated at its due moment, in order of due time, then
   USCC (the order of a Redis sorted set), each change possibly scheduling the next;
2. the event is applied (:func:`scoring.fold.apply`, by its own time, late or not);
3. whatever is due by then is made too (only the event's own enterprise can be).

The changes of steps 1 and 3 are the event's: a duplicate of it (same ``source`` + ``id``)
stands for them as it stands for its own outcome, and raises nothing, since its first copy did.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from scoring.changes import Change
from scoring.fold import EnterpriseState, Outcome, Params, apply

__all__ = ["Fired", "Partition"]


@dataclass(frozen=True, slots=True)
class Fired:
    """A time-driven class change an event brought about: ``outcome.asof`` is its due moment."""

    uscc: str
    outcome: Outcome


@dataclass(slots=True)
class Partition:
    """The enterprises of one partition and its event-time watermark (Unix s; 0: no event)."""

    states: dict[str, EnterpriseState] = field(default_factory=dict)
    watermark: int = 0
    # (due, uscc) of every state with a due moment; an entry whose state has moved on since is
    # skipped when it comes up (cheaper than removing it).
    _due: list[tuple[int, str]] = field(default_factory=list)

    def apply(self, uscc: str, change: Change, p: Params) -> tuple[Outcome, tuple[Fired, ...]]:
        """Apply one event (not a duplicate: the ledger is the caller's) and make the
        time-driven changes it brings about; its outcome and those changes, in order."""
        fired: list[Fired] = []
        if change.asof > self.watermark:
            self.watermark = change.asof
            self._fire(p, fired)
        state, outcome = apply(self.states.get(uscc, EnterpriseState()), change, p)
        self._keep(uscc, state)
        self._fire(p, fired)
        return outcome, tuple(fired)

    def _keep(self, uscc: str, state: EnterpriseState) -> None:
        if state == EnterpriseState():
            return  # a re-evaluation of an enterprise never seen: nothing to keep
        self.states[uscc] = state
        if state.due:
            heapq.heappush(self._due, (state.due, uscc))

    def _fire(self, p: Params, fired: list[Fired]) -> None:
        limit = self.watermark - p.lateness
        while self._due and self._due[0][0] <= limit:
            due, uscc = heapq.heappop(self._due)
            state = self.states[uscc]
            if state.due != due:
                continue  # scheduled again (or no longer) since this entry was pushed
            state, outcome = apply(state, Change(event_hash="", asof=due), p)
            self._keep(uscc, state)
            fired.append(Fired(uscc, outcome))
