"""Where one published message goes beyond Kafka, and when a failed delivery is tried again
(pure: no clock, no randomness of its own; the caller passes both).

* :func:`routed` reads a message (the CloudEvent JSON riskmon published) into what routing
  needs: id, type, severity, subject, time and data.
* :func:`subscribers_for` filters the subscribers by CloudEvents type and severity.
* :func:`wants_alertmanager`: critical enterprise warnings, entries into D, and every regional
  and industry warning go to Alertmanager too.
* :func:`alertmanager_alert`: the Alertmanager v2 alert (labels, annotations, generatorURL,
  startsAt, endsAt) for such a message.
* :func:`next_attempt`: the backoff schedule, exponential with jitter, bounded by the
  subscriber's maximum age and attempt cap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from alerts.webhooks_config import DeliveryLimits, Subscriber
from schemas.alerts import (
    ALERT_CLASS_CHANGED,
    ALERT_INDUSTRY,
    ALERT_REGION,
    ALERT_WARNING,
    AreaWarning,
    ClassChanged,
    OutgoingEnvelope,
    Severity,
    WarningRaised,
)

__all__ = [
    "ALERTNAMES",
    "RESOLVE_AFTER",
    "Profile",
    "Routed",
    "alertmanager_alert",
    "backoff_seconds",
    "next_attempt",
    "routed",
    "subscribers_for",
    "wants_alertmanager",
]

#: ``alertname`` label per message type.
ALERTNAMES: Final = {
    ALERT_WARNING: "RiskmonWarning",
    ALERT_CLASS_CHANGED: "RiskmonClassD",
    ALERT_REGION: "RiskmonRegionalWarning",
    ALERT_INDUSTRY: "RiskmonIndustryWarning",
}
#: How long after its time an alert counts as firing (``endsAt``). riskmon sends no
#: "resolved": a warning is a fact about a moment, not a condition that clears. Without an
#: ``endsAt`` Alertmanager would resolve it after its own resolve_timeout (5 min by default),
#: too soon for people to see it; a day keeps it on the board through a duty shift and lets
#: it expire by itself. Each retry re-posts the same start and end, so a late delivery does
#: not stretch it.
RESOLVE_AFTER: Final = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Profile:
    """Where an enterprise is registered (from its stored profile), for labels."""

    division: str | None
    industry: str | None


@dataclass(frozen=True, slots=True)
class Routed:
    """A published message as routing sees it; ``body`` is the bytes as published."""

    id: str
    type: str
    severity: Severity | None
    subject: str
    time: dt.datetime
    envelope: OutgoingEnvelope
    body: bytes


def routed(body: bytes) -> Routed:
    """The message in ``body`` (a CloudEvent riskmon published). Raises pydantic's
    ``ValidationError`` if it is not one."""
    env = OutgoingEnvelope.model_validate_json(body)
    data = env.data
    severity = data.severity if isinstance(data, WarningRaised | AreaWarning) else None
    return Routed(env.id, env.type, severity, str(env.subject), env.time, env, body)


def subscribers_for(msg: Routed, subscribers: Sequence[Subscriber]) -> list[Subscriber]:
    """The subscribers that asked for ``msg``'s type and accept its severity, in file order."""
    return [s for s in subscribers if msg.type in s.types and s.wants_severity(msg.severity)]


def wants_alertmanager(msg: Routed) -> bool:
    """Critical warnings on enterprises, entries into D, regional and industry warnings."""
    data = msg.envelope.data
    if isinstance(data, WarningRaised):
        return data.severity == "critical"
    if isinstance(data, ClassChanged):
        return data.new_class == "D" and data.old_class != "D"
    return isinstance(data, AreaWarning)


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def alertmanager_alert(
    msg: Routed, console_url: str, profile: Profile | None = None
) -> dict[str, Any]:
    """The Alertmanager v2 alert (``POST /api/v2/alerts`` takes a list of these) for a message
    :func:`wants_alertmanager` accepts. Labels: ``alertname``, ``severity``, ``id`` (the
    message's id, so that two warnings on one enterprise stay two alerts), and ``division``,
    ``industry``, ``uscc``, ``rule`` where they apply; ``profile`` gives a class change its
    division and industry (its data has none). ``generatorURL`` points at the console's page
    of the enterprise or the area. Raises ValueError for a message it does not route."""
    data = msg.envelope.data
    console = console_url.rstrip("/")
    labels: dict[str, str] = {"alertname": ALERTNAMES.get(msg.type, ""), "id": msg.id}
    if isinstance(data, WarningRaised):
        labels |= {"severity": data.severity, "rule": data.rule, "uscc": data.uscc}
        division, industry = data.division, data.industry
        if profile is not None:
            division, industry = division or profile.division, industry or profile.industry
        url = f"{console}/enterprises/{data.uscc}"
        summary = f"Early warning {data.rule} ({data.rule_kind}) on {data.uscc}"
    elif isinstance(data, ClassChanged):
        labels |= {"severity": "critical", "uscc": data.uscc}
        division = profile.division if profile else None
        industry = profile.industry if profile else None
        url = f"{console}/enterprises/{data.uscc}"
        was = data.old_class or "unclassified"
        summary = f"{data.uscc} entered class D (score {data.score:g}, was {was})"
    elif isinstance(data, AreaWarning):
        labels |= {"severity": data.severity, "rule": data.rule}
        division = data.code if data.kind == "division" else None
        industry = data.code if data.kind == "industry" else None
        page = "regions" if data.kind == "division" else "industries"
        url = f"{console}/{page}/{data.code}"
        summary = (
            f"{data.kind} {data.code}: {data.rule} ({data.rule_kind}),"
            f" C+D share {data.counts.cd_share:.1%}, D entries in 7 days"
            f" {data.counts.d_entries_7d}"
        )
    else:
        raise ValueError(f"{msg.type} is not posted to Alertmanager")
    if division:
        labels["division"] = division
    if industry:
        labels["industry"] = industry
    return {
        "labels": labels,
        "annotations": {"summary": summary, "type": msg.type},
        "generatorURL": url,
        "startsAt": _rfc3339(msg.time),
        "endsAt": _rfc3339(msg.time + RESOLVE_AFTER),
    }


def backoff_seconds(attempts: int, limits: DeliveryLimits, rand: Callable[[], float]) -> float:
    """The wait after the ``attempts``-th failed attempt (1, 2, ...): the first retry delay
    doubled per earlier failure, capped, then jittered into its upper half (so a crowd of
    deliveries that failed together spreads out, and none waits less than half its step).
    ``rand`` returns a float in [0, 1): ``random.Random(seed).random`` in tests."""
    step = min(limits.max_retry_seconds, limits.first_retry_seconds * 2.0 ** (attempts - 1))
    return step * (0.5 + 0.5 * rand())


def next_attempt(
    attempts: int,
    enqueued_at: float,
    now: float,
    limits: DeliveryLimits,
    rand: Callable[[], float],
) -> float | None:
    """When to try again (seconds since the epoch, like ``now``) after ``attempts`` failed
    attempts of a delivery enqueued at ``enqueued_at``; None: give up, it is dead (the cap of
    attempts is reached, or the next try would fall past the maximum age)."""
    if attempts >= limits.max_attempts:
        return None
    at = now + backoff_seconds(attempts, limits, rand)
    deadline = enqueued_at + limits.max_age_seconds
    if at > deadline:
        # One last try at the deadline itself rather than none, unless it has come.
        return deadline if now < deadline else None
    return at
