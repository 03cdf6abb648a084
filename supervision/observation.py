"""Observation periods (观察期) and trigger-based supervision (触发式监管) (pure rules).

A new-economy enterprise (``new_economy: true``) registered while in A or B enters a period of
``observation.days`` from its founding date. While the period is active, and only for events
whose time lies in ``[since, until)``, supervision is triggered by events, never by a scan:

* **minor** triggers (``observation.minor_triggers``): complaints (``complaint_threshold``
  within ``complaint_window_days``, or one in a ``safety_categories`` category) and
  ``monitoring.signal``. The first within ``trigger_window_days`` reminds the enterprise; a
  second within that window makes an interview task, and the window starts afresh.
* **on-site** triggers (``observation.on_site_triggers``): a penalty in a bottom-line domain,
  ``case_lead.transferred``, ``inspection.required``: an on-site task at once, and the period
  ends (reasons ``bottom_line``, ``case_lead``, ``legal_requirement``).

The period also ends on expiry (the due entry ``obs:<uscc>`` at ``until``) and when the class
reaches C or D. A period never restarts: an enterprise has at most one record.

Order: the rules follow log order. An event that arrives after the period ended (by
another event or by expiry) triggers nothing even if its time was earlier; a reminder sent
for a first trigger is not withdrawn when an earlier one arrives late (that late one then
counts as the second, in event time, if it lies within the window).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from schemas.alerts import EndReason
from schemas.events import (
    ComplaintReceived,
    EnterpriseRegistered,
    EventType,
    PenaltyImposed,
)
from supervision.config import ObservationConfig
from supervision.records import ObservationRecord

__all__ = [
    "Measure",
    "OnSite",
    "class_end_reason",
    "end",
    "measure",
    "on_site_trigger",
    "period",
    "within",
]

DAY = 86_400

#: What an on-site trigger is, as the period's end reason.
OnSite = Literal["bottom_line", "case_lead", "legal_requirement"]
#: What a minor trigger warrants: a reminder (first in the window) or an interview (second).
Measure = Literal["remind", "interview"]


def period(
    data: EnterpriseRegistered, new_class: int, time: int, tz_offset: int, cfg: ObservationConfig
) -> tuple[int, int] | None:
    """``(since, until)`` (Unix s) of the period a registration at ``time`` starts, or None.

    Starts for a new-economy enterprise whose class after the registration is A or B; 0
    (unknown, e.g. the scoring outcome of a duplicate) counts as not C or D, since a
    registration alone never puts a firm in C or D. ``since`` is midnight of ``founded_on`` in
    the event's own UTC offset (``tz_offset`` seconds east), as scoring dates a founding; the
    period starts only if ``until`` is still ahead of the event."""
    if not data.new_economy or new_class not in (0, 1, 2):
        return None
    tz = dt.timezone(dt.timedelta(seconds=tz_offset))
    since = int(dt.datetime.combine(data.founded_on, dt.time(), tzinfo=tz).timestamp())
    until = since + cfg.days * DAY
    return (since, until) if until > time else None


def within(obs: ObservationRecord, time: int) -> bool:
    """True if an event at ``time`` falls in ``obs``'s period while it is active."""
    return obs.active and obs.since <= time < obs.until


def on_site_trigger(etype: str, data: BaseModel, cfg: ObservationConfig) -> OnSite | None:
    """The on-site trigger an event is under ``cfg``, or None."""
    if (
        etype == EventType.PENALTY_IMPOSED
        and isinstance(data, PenaltyImposed)
        and data.domain in cfg.bottom_line_domains
        and "bottom_line_penalty" in cfg.on_site_triggers
    ):
        return "bottom_line"
    if etype == EventType.CASE_LEAD_TRANSFERRED and "case_lead.transferred" in cfg.on_site_triggers:
        return "case_lead"
    if etype == EventType.INSPECTION_REQUIRED and "inspection.required" in cfg.on_site_triggers:
        return "legal_requirement"
    return None


def _minor(
    obs: ObservationRecord, etype: str, data: BaseModel, t: int, cfg: ObservationConfig
) -> bool:
    """True if the event at ``t`` is a minor trigger (counting complaints in ``obs``)."""
    if etype == EventType.MONITORING_SIGNAL:
        return "monitoring.signal" in cfg.minor_triggers
    if etype != EventType.COMPLAINT_RECEIVED or "complaint" not in cfg.minor_triggers:
        return False
    if isinstance(data, ComplaintReceived) and data.category in cfg.safety_categories:
        return True
    window = cfg.complaint_window_days * DAY
    obs.complaints = sorted(c for c in [*obs.complaints, t] if t - window < c <= t)
    if len(obs.complaints) >= cfg.complaint_threshold:
        obs.complaints = []
        return True
    return False


def measure(
    obs: ObservationRecord, etype: str, data: BaseModel, t: int, cfg: ObservationConfig
) -> Measure | None:
    """The gentle measure a minor trigger at ``t`` warrants (updating ``obs``'s counts), or None
    if the event is no minor trigger. The caller checks :func:`within` first."""
    if not _minor(obs, etype, data, t, cfg):
        return None
    window = cfg.trigger_window_days * DAY
    recent = [m for m in obs.minor_triggers if abs(t - m) < window]
    if recent:
        obs.minor_triggers = []  # an interview; the window starts afresh
        return "interview"
    obs.minor_triggers = [t]
    return "remind"


def class_end_reason(new_class: int) -> EndReason | None:
    """``class_c`` / ``class_d`` if class ``new_class`` ends a period, else None."""
    return "class_c" if new_class == 3 else "class_d" if new_class == 4 else None


def end(obs: ObservationRecord, at: int, reason: EndReason) -> None:
    """End ``obs`` at ``at`` (Unix s) for ``reason``."""
    obs.active = False
    obs.ended_at = at
    obs.ended_reason = reason
