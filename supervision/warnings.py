"""Enterprise early warnings inside supervision's fold (pure): per input, the rules of
``alerts/warnings/enterprise.py`` on the warning states of the partition's enterprises.

Called by :func:`supervision.step.step` for each input applied for the first time, after its
tasks and reminders: the time-driven class changes it brought about before it (by their due
moment), the event itself, then those after it, as ``alerts.rules.event_messages`` orders
scoring's messages. Its warnings join the input's supervision messages, so supervision's
ledger re-sends them on a duplicate, and the states go into the same MULTI.

The address cluster is not here: it spans partitions (``supervision/store/addresses.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping
from typing import TYPE_CHECKING

from alerts.rules import Message
from alerts.warnings.enterprise import Event, Rules, evaluate_change, evaluate_event
from alerts.warnings.state import EnterpriseWarnings

if TYPE_CHECKING:
    from supervision.step import Input

__all__ = ["warn"]


def warn(
    states: MutableMapping[str, EnterpriseWarnings],
    changed: MutableMapping[str, EnterpriseWarnings],
    inp: Input,
    rules: Rules,
    raised: Counter[tuple[str, str]],
) -> list[Message]:
    """The warnings ``inp`` raises, in order; ``states`` (uscc -> state, those known) is
    updated, and every state that changed is put in ``changed`` (to write); ``raised`` counts
    the warnings by (rule, severity)."""
    out: list[Message] = []
    own = inp.outcome.asof

    def change(new: EnterpriseWarnings | None, uscc: str, old: EnterpriseWarnings | None) -> None:
        if new is not None and new is not old:
            states[uscc] = new
            changed[uscc] = new

    for f in inp.fired:
        if f.outcome.asof <= own:
            old = states.get(f.uscc)
            new, got = evaluate_change(old, f, rules)
            change(new, f.uscc, old)
            out.extend(r.message for r in got)
            raised.update((r.rule, r.severity) for r in got)
    ev = Event(inp.uscc, inp.etype, inp.source, inp.event_id, inp.time, inp.data, inp.outcome)
    old = states.get(inp.uscc)
    new, got = evaluate_event(old, ev, rules)
    change(new, inp.uscc, old)
    out.extend(r.message for r in got)
    raised.update((r.rule, r.severity) for r in got)
    for f in inp.fired:
        if f.outcome.asof > own:
            old = states.get(f.uscc)
            new, got = evaluate_change(old, f, rules)
            change(new, f.uscc, old)
            out.extend(r.message for r in got)
            raised.update((r.rule, r.severity) for r in got)
    return out
