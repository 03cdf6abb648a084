"""A tiny in-memory store for the fold, and builders of inputs (tests only).

The store keeps what the Redis store keeps, in its stored form (records and ledger entries as
bytes), so a batch run through it exercises the codecs the way the worker does."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from alerts.rules import Message, event_messages
from schemas.alerts import OutgoingEnvelope
from schemas.events import EnterpriseRegistered
from scoring.changes import event_hash
from scoring.fold import Outcome
from scoring.partition import Fired
from supervision.config import SupervisionConfig, load
from supervision.ledger import decode_messages, encode_messages
from supervision.records import (
    decode_observation,
    decode_task,
    encode_observation,
    encode_task,
)
from supervision.step import Effects, Input, Loaded, Wants, step, wants

USCC = "91610112MA6TGQ1K2M"
OTHER = "91110108551385082Q"
VERSION = "default-2026.1"
DAY = 86_400
A, B, C, D = 1, 2, 3, 4
CFG: SupervisionConfig = load(None)


def ts(y: int, m: int, d: int, h: int = 0) -> int:
    return int(dt.datetime(y, m, d, h, tzinfo=dt.UTC).timestamp())


def ev(
    etype: str,
    data: BaseModel,
    t: int,
    *,
    cls: int = A,
    old: int | None = None,
    uscc: str = USCC,
    source: str = "/test",
    eid: str | None = None,
    fired: Sequence[Fired] = (),
) -> Input:
    """One input as the worker builds it: scoring's messages follow from ``cls`` (and ``old``)."""
    eid = eid or f"{etype}@{t}@{uscc}"
    outcome = Outcome(cls if old is None else old, cls, 0, t, 0)
    scoring = event_messages(uscc, source, eid, etype, outcome, fired, VERSION)
    return Input(
        event_hash(source, eid), etype, uscc, source, eid, t, data, outcome, tuple(fired),
        tuple(scoring),
    )  # fmt: skip


def body(m: Message) -> dict[str, Any]:
    env = OutgoingEnvelope.model_validate_json(m.value)  # every message is a valid envelope
    data: dict[str, Any] = env.data.model_dump(mode="json")
    data["@time"] = env.time
    return data


def flat(messages: Sequence[Sequence[Message]]) -> list[Message]:
    return [m for ms in messages for m in ms]


@dataclass
class Store:
    """What the Redis store keeps for one partition, as bytes where Redis keeps bytes."""

    ew: int = 0
    seen: dict[str, bytes] = field(default_factory=dict)
    tasks: dict[str, bytes] = field(default_factory=dict)
    obs: dict[str, bytes] = field(default_factory=dict)
    due: dict[str, int] = field(default_factory=dict)
    disc: Counter[str] = field(default_factory=Counter)
    last: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def load(self, w: Wants) -> Loaded:
        due = sorted((t, m) for m, t in self.due.items() if t <= w.due_until)
        tids = set(w.tasks) | {m[2:] for _, m in due if m.startswith("t:")}
        usccs = set(w.usccs) | {m[4:] for _, m in due if m.startswith("obs:")}
        return Loaded(
            ew=self.ew,
            seen={h: decode_messages(self.seen[h]) for h in w.hashes if h in self.seen},
            tasks={t: decode_task(self.tasks[t]) for t in tids if t in self.tasks},
            observations={u: decode_observation(self.obs[u]) for u in usccs if u in self.obs},
            due=due,
        )

    def write(self, fx: Effects) -> None:
        self.ew = fx.ew
        self.seen.update({h: encode_messages(ms) for h, ms in fx.seen.items()})
        self.tasks.update({k: encode_task(v) for k, v in fx.tasks.items()})
        self.obs.update({k: encode_observation(v) for k, v in fx.observations.items()})
        for m in fx.due_removed:
            self.due.pop(m, None)
        self.due.update(fx.due_set)
        self.disc.update(fx.discovery)
        self.last.update(fx.last_inspectors)
        self.ignored.extend(fx.ignored)

    def run(
        self, inputs: Sequence[Input], lateness: int = 0, cfg: SupervisionConfig = CFG
    ) -> list[list[Message]]:
        fx = step(self.load(wants(inputs, lateness)), inputs, cfg, VERSION, lateness)
        self.write(fx)
        return fx.messages

    def task(self, task_id: str) -> Any:
        return decode_task(self.tasks[task_id])

    def observation(self, uscc: str = USCC) -> Any:
        return decode_observation(self.obs[uscc])


FOUNDED = dt.date(2025, 1, 1)
T0 = ts(2025, 3, 1)


def registered(
    t: int = T0, *, new_economy: bool = True, cls: int = A, founded: dt.date = FOUNDED
) -> Input:
    """A new-economy firm founded 2025-01-01 registered at ``t`` in class ``cls``."""
    data = EnterpriseRegistered(
        name="未央新业态科技有限公司",
        division_code="610112",
        industry_code="I65",
        founded_on=founded,
        registered_capital_cny=1e6,
        new_economy=new_economy,
    )
    return ev("enterprise.registered", data, t, cls=cls, old=0)
