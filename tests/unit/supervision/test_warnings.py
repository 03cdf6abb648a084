"""Early warnings inside supervision's fold: an event's warnings follow its supervision messages,
its enterprise's warning state is in the effects to write, a duplicate re-sends the very same
warnings and raises none anew, and how the log is cut into batches changes nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from alerts.rules import Message
from alerts.warnings.state import decode_state, encode_state
from schemas.events import ComplaintReceived, Reevaluate
from scoring.changes import event_hash
from scoring.fold import Outcome
from scoring.partition import Fired
from supervision.ledger import decode_messages, encode_messages
from supervision.step import Input, Loaded, step, wants
from tests.support.supervision import CFG, DAY, OTHER, T0, USCC, VERSION, ev, registered
from tests.support.warnings import RULES, rules_of


@dataclasses.dataclass
class Partition:
    """What Redis keeps of one partition for this (ledger, watermark, warning states), as
    bytes; tasks and observations are carried as objects."""

    ew: int = 0
    seen: dict[str, bytes] = dataclasses.field(default_factory=dict)
    warn: dict[str, bytes] = dataclasses.field(default_factory=dict)
    obs: dict[str, object] = dataclasses.field(default_factory=dict)
    raised: int = 0

    def run(self, inputs: Sequence[Input], with_rules: bool = True) -> list[list[Message]]:
        w = wants(inputs, 0)
        loaded = Loaded(
            ew=self.ew,
            seen={h: decode_messages(self.seen[h]) for h in w.hashes if h in self.seen},
            tasks={},
            observations=dict(self.obs),  # type: ignore[arg-type]
            due=[],
            warnings={u: decode_state(self.warn[u]) for u in w.usccs if u in self.warn},
        )
        fx = step(loaded, inputs, CFG, VERSION, 0, RULES if with_rules else None)
        self.ew = fx.ew
        self.seen.update({h: encode_messages(m) for h, m in fx.seen.items()})
        self.warn.update({u: encode_state(s) for u, s in fx.warnings.items()})
        self.obs.update(fx.observations)
        self.raised += sum(fx.raised.values())
        return fx.messages


def complaint(t: int, n: int) -> Input:
    data = ComplaintReceived(channel="12315_platform", category="service")
    return ev("complaint.received", data, t, eid=f"c-{n}")


def story() -> list[Input]:
    """A new-economy firm registered, then five complaints in five days."""
    return [registered(T0), *[complaint(T0 + n * DAY, n) for n in range(1, 6)]]


def test_an_events_warning_follows_its_supervision_messages_and_its_state_is_written() -> None:
    p = Partition()
    out = p.run(story())
    assert [rules_of(ms) for ms in out] == [[], [], [], [], [], ["complaint-surge"]]
    # after whatever supervision sends for the complaint (its observation period's rules)
    assert out[-1][-1].type == "riskmon.alert.warning"
    state = decode_state(p.warn[USCC])
    assert [k.id for k in state.complaints] == [f"c-{n}" for n in range(1, 6)]
    assert state.fired == {"complaint-surge": T0 + 5 * DAY}
    assert p.raised == 1


def test_a_duplicate_re_sends_the_same_warning_and_raises_none_anew() -> None:
    p = Partition()
    first = p.run(story())
    again = p.run(story()[-2:])  # redelivered: the ledger answers
    assert again == first[-2:] and p.raised == 1
    # a re-published copy (same source + id) inside a later batch: the same again
    assert p.run([complaint(T0 + 9 * DAY, 9), story()[-1]])[1] == first[-1]
    assert p.raised == 1


def test_batching_changes_nothing() -> None:
    whole = Partition().run(story())
    p = Partition()
    one_by_one = [p.run([i])[0] for i in story()]
    assert whole == one_by_one


def test_without_rules_nothing_is_warned_or_kept() -> None:
    p = Partition()
    out = p.run(story(), with_rules=False)
    assert not any(rules_of(ms) for ms in out) and not p.warn


def test_a_time_driven_entry_to_d_that_an_event_brings_about_is_its_warning() -> None:
    due = T0 + 3 * DAY
    change = Fired(OTHER, Outcome(3, 4, 60_500_000, due, 0))
    tick = ev(
        "riskmon.reevaluate",
        Reevaluate.model_validate({"asof": "2025-03-05T00:00:00Z"}),
        T0 + 4 * DAY,
        source="/riskmon/ticker",
        eid=f"{USCC}@{T0 + 4 * DAY}",
        fired=[change],
    )
    p = Partition()
    (out,) = p.run([tick])
    assert rules_of(out) == ["first-d"]
    assert decode_state(p.warn[OTHER]).ever_d


def test_an_unknown_outcome_after_a_crash_between_the_writes_still_counts_the_complaint() -> None:
    # scoring saw the event before (a duplicate whose first copy was no news): outcome 0/0
    inputs = story()
    last = inputs[-1]
    blank = Input(
        event_hash(last.source, last.event_id), last.etype, last.uscc, last.source,
        last.event_id, last.time, last.data, Outcome(0, 0, 0, 0, 0),
    )  # fmt: skip
    out = Partition().run([*inputs[:-1], blank])
    assert rules_of(out[-1]) == ["complaint-surge"]
