"""How an enterprise's hidden propensity shows (pure): its expected events per year by kind,
and what each event holds (complaint channel and category, penalty severity and fine, what a
spot check finds, supervision's triggers: monitoring signals, transferred leads, inspections a
law requires). Shared by the history and the live district."""

from __future__ import annotations

import random
from typing import Any, Final, get_args

from district.enterprises import Enterprise
from schemas.events import AbnormalReason, PenaltyDomain

__all__ = [
    "MAX_RATE",
    "OTHER_ABNORMAL",
    "case_lead",
    "complaint",
    "event_rates",
    "inspection_required",
    "inspection_result",
    "monitoring_signal",
    "penalty",
]

# Derived from the event schemas, so a domain or reason added there is generated too.
_OTHER_DOMAINS: Final = tuple(
    d for d in get_args(PenaltyDomain) if d not in ("food", "drug", "special_equipment")
)
OTHER_ABNORMAL: Final = tuple(r for r in get_args(AbnormalReason) if r != "annual_report_missing")
_CHANNELS: Final = ("12315_hotline", "12315_platform", "letter", "visit", "transfer", "other")
_CATEGORIES: Final = ("quality", "price", "contract", "advertising", "service", "other")
# What a big-data monitoring platform flags (大数据监测): codes of the kind such platforms use.
_SIGNALS: Final = ("price_anomaly", "online_listing_mismatch", "licence_expired", "address_change")
# Departments that transfer case leads to market regulation (转办交办案件线索).
_DEPARTMENTS: Final = (
    "区公安分局",
    "区卫生健康局",
    "区税务局",
    "区应急管理局",
    "市市场监管局稽查支队",
)
_LEADS: Final = ("无证经营线索", "虚假宣传线索", "产品质量问题线索", "价格违法线索")
# Inspections a law requires whatever the class (法律法规另有规定), by key sector.
_LEGAL_BASIS: Final = {
    "food": "《食品安全法》第一百一十条 现场检查",
    "drug": "《药品管理法》第九十九条 监督检查",
    "special_equipment": "《特种设备安全法》第五十七条 监督检查",
    None: "《企业信息公示暂行条例》第十五条 检查",
}


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
        # supervision's triggers: monitoring hits and transferred leads follow conduct; an
        # inspection a law requires does not
        "monitoring_signal": 0.05 + 0.8 * p,
        "case_lead": 0.005 + 0.1 * p,
        "inspection_required": 0.02,
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


def monitoring_signal(rng: random.Random, ent: Enterprise) -> dict[str, Any]:
    u = rng.random()
    severity = "high" if u < 0.2 * ent.propensity else "medium" if u < 0.4 else "low"
    return {"code": rng.choice(_SIGNALS), "severity": severity}


def case_lead(rng: random.Random) -> dict[str, Any]:
    return {"reason": rng.choice(_LEADS), "from_department": rng.choice(_DEPARTMENTS)}


def inspection_required(ent: Enterprise) -> dict[str, Any]:
    return {"legal_basis": _LEGAL_BASIS.get(ent.key_sector, _LEGAL_BASIS[None])}


#: The highest total of :func:`event_rates` (propensity 1, consumer-facing): the rejection bound.
MAX_RATE: Final = 12.0
