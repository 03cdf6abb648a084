"""How an enterprise's hidden propensity shows (pure): its expected events per year by kind,
and what each event holds (complaint channel and category, penalty severity and fine, what a
spot check finds). Shared by the history and the live district."""

from __future__ import annotations

import random
from typing import Any, Final, get_args

from district.enterprises import Enterprise
from schemas.events import AbnormalReason, PenaltyDomain

__all__ = [
    "MAX_RATE",
    "OTHER_ABNORMAL",
    "complaint",
    "event_rates",
    "inspection_result",
    "penalty",
]

# Derived from the event schemas, so a domain or reason added there is generated too.
_OTHER_DOMAINS: Final = tuple(
    d for d in get_args(PenaltyDomain) if d not in ("food", "drug", "special_equipment")
)
OTHER_ABNORMAL: Final = tuple(r for r in get_args(AbnormalReason) if r != "annual_report_missing")
_CHANNELS: Final = ("12315_hotline", "12315_platform", "letter", "visit", "transfer", "other")
_CATEGORIES: Final = ("quality", "price", "contract", "advertising", "service", "other")


def event_rates(ent: Enterprise) -> dict[str, float]:
    """Expected events per year by kind (``annual_report_lapse``: chance per annual report)."""
    p = ent.propensity
    consumer_facing = ent.industry[0] in "FHO"
    return {
        "complaint": (0.2 + 5.0 * p) * (1.6 if consumer_facing else 1.0),
        "penalty": 0.03 + 1.2 * p,
        "annual_report_lapse": 0.02 + 0.5 * p,
        "abnormal": 0.01 + 0.25 * p,
        "serious_violation": 0.001 + 0.08 * p,
        # random spot checks: drawn regardless of propensity
        "inspection": 0.3,
    }


def complaint(rng: random.Random, ent: Enterprise) -> dict[str, Any]:
    category = "food_safety" if ent.key_sector == "food" else rng.choice(_CATEGORIES)
    return {"channel": rng.choice(_CHANNELS), "category": category}


def penalty(rng: random.Random, ent: Enterprise, number: str) -> dict[str, Any]:
    p = ent.propensity
    u = rng.random()
    grave, serious, ordinary = 0.02 + 0.15 * p, 0.10 + 0.25 * p, 0.40
    if u < grave:
        severity, fine = "grave", rng.randint(2_000, 30_000) * 100
    elif u < grave + serious:
        severity, fine = "serious", rng.randint(500, 5_000) * 100
    elif u < grave + serious + ordinary:
        severity, fine = "ordinary", rng.randint(50, 500) * 100
    else:
        severity, fine = "minor", rng.randint(0, 50) * 100
    key = ent.key_sector is not None and rng.random() < 0.7
    domain = ent.key_sector if key and ent.key_sector else rng.choice(_OTHER_DOMAINS)
    return {
        "decision_number": number,
        "domain": domain,
        "fine_cny": float(fine),
        "severity": severity,
        "licence_revoked": severity == "grave" and rng.random() < 0.3,
    }


def inspection_result(rng: random.Random, p: float) -> str:
    """What a spot check finds at a firm of propensity ``p``."""
    found = min(0.95, 0.03 + 0.9 * p)
    u = rng.random()
    if u < found:
        return "problems_found"
    if u < found + 0.02 + 0.1 * p:
        return "not_at_address"
    if u < found + 0.03 + 0.15 * p:
        return "refused"
    if u < found + 0.08 + 0.15 * p:
        return "corrected"
    return "no_problem"


#: The highest total of :func:`event_rates` (propensity 1, consumer-facing): the rejection bound.
MAX_RATE: Final = 11.0
