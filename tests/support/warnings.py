"""Builders for early-warning tests: rules, events with an outcome, and the warnings a list of
messages holds (tests only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from alerts.rules import Message
from alerts.warnings import load
from alerts.warnings.enterprise import Event, Rules
from schemas.alerts import ALERT_WARNING, OutgoingEnvelope, WarningRaised
from schemas.events import (
    ComplaintReceived,
    EnterpriseRegistered,
    PenaltyImposed,
    PenaltyRevoked,
)
from scoring.fold import Outcome

USCC = "91610112MA6TGQ1K2M"
OTHER = "91110108551385082Q"
DAY = 86_400
T0 = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp())
#: The default model's thresholds (micro-points): B from 10, C from 30, D from 60.
THRESHOLDS = (10_000_000, 30_000_000, 60_000_000)
CONFIG = load(None)
RULES = Rules.of(CONFIG, THRESHOLDS)
NO_NEWS = Outcome(0, 0, 0, 0, 0)


def points(p: float) -> int:
    return round(p * 1_000_000)


def outcome(old: int, new: int, score: float, t: int) -> Outcome:
    return Outcome(old, new, points(score), t, 0)


def complaint(t: int, n: int, uscc: str = USCC, out: Outcome = NO_NEWS) -> Event:
    data = ComplaintReceived(channel="12315_platform", category="quality")
    return Event(uscc, "complaint.received", "/12315", f"c-{n}", t, data, out)


def penalty(t: int, ref: str, uscc: str = USCC, out: Outcome = NO_NEWS) -> Event:
    data = PenaltyImposed(decision_number=ref, domain="food", fine_cny=5000.0, severity="ordinary")
    return Event(uscc, "penalty.imposed", "/credit", f"p-{ref}-{t}", t, data, out)


def revoked(t: int, ref: str, uscc: str = USCC) -> Event:
    data = PenaltyRevoked(decision_number=ref, reason="overturned")
    return Event(uscc, "penalty.revoked", "/credit", f"r-{ref}", t, data, NO_NEWS)


def registration(
    t: int, uscc: str = USCC, address: str | None = None, out: Outcome = NO_NEWS
) -> Event:
    data = EnterpriseRegistered(
        name="某某商贸有限公司",
        division_code="610112",
        industry_code="F51",
        founded_on=dt.date(2020, 1, 1),
        registered_capital_cny=1e6,
        address=address,
    )
    return Event(uscc, "enterprise.registered", "/credit", f"reg-{uscc}-{t}", t, data, out)


def scored(t: int, n: int, out: Outcome, uscc: str = USCC) -> Event:
    """An event that only moves the score (a monitoring signal, say)."""
    return Event(uscc, "monitoring.signal", "/monitor", f"m-{n}", t, None, out)


def warnings_in(messages: Iterable[Message]) -> list[WarningRaised]:
    """The warnings among ``messages``, as their consumers read them."""
    out = []
    for m in messages:
        if m.type != ALERT_WARNING:
            continue
        env = OutgoingEnvelope.model_validate_json(m.value)
        assert env.id == m.id and isinstance(env.data, WarningRaised)
        out.append(env.data)
    return out


def rules_of(messages: Sequence[Message]) -> list[str]:
    return [w.rule for w in warnings_in(messages)]


def body(m: Message) -> dict[str, Any]:
    data: dict[str, Any] = OutgoingEnvelope.model_validate_json(m.value).data.model_dump()
    return data
