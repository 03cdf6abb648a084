"""Risk reminders: every kind and reason has a text in both languages that names the fact and
the remedy, and none reveals the class, the score or the model (the class is an internal
reference for regulators). This test fails the day a template does."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from schemas.alerts import ReminderKind
from schemas.events import AbnormalReason
from scoring.model import load_model
from supervision import reminders
from supervision.config import load
from supervision.reminders import LANGUAGES, TEMPLATES, reminder_id, texts

REF = "西未市监罚〔2025〕17号"
#: Every (kind, reason) the fold can ask for.
CASES = [
    *(("abnormal_list", r) for r in get_args(AbnormalReason)),
    ("observation_trigger", "complaint"),
    ("observation_trigger", "monitoring.signal"),
    ("penalty_repair", ""),
]

# What would reveal the class, the score or the model, in either language.
LEAKS = [
    re.compile(r"(?<![A-Za-z])[A-D](?![A-Za-z])"),  # a class letter alone ("in B", "B类")
    *(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"\bclass(es|ified|ification)?\b",
            r"\bscor(e|es|ed|ing)\b",
            r"\bmodel\b",
            r"\brating\b",
            r"\brisk (level|category|grade)\b",
            r"\bhigh[- ]risk\b|\blow[- ]risk\b",
            r"风险等级|风险分类|信用风险|分类|评分|分数|得分|等级|模型|高风险|低风险|较高|一般风险",
        )
    ),
]


def test_every_case_the_fold_sends_has_a_template_and_no_more() -> None:
    assert set(TEMPLATES) == set(CASES)
    assert {k for k, _ in CASES} == set(get_args(ReminderKind))


@pytest.mark.parametrize(("kind", "reason"), CASES)
def test_a_reminder_never_reveals_the_class_the_score_or_the_model(kind: str, reason: str) -> None:
    rendered = texts(kind, REF, reason)
    assert set(rendered) == set(LANGUAGES)
    versions = [load_model(None).version, load(None).version]
    for lang, text in rendered.items():
        assert text.strip() and "{" not in text, (lang, text)
        for leak in LEAKS:
            assert not leak.search(text), f"{kind}/{reason} {lang} reveals {leak.pattern}: {text}"
        for v in versions:
            assert v not in text


def test_the_leak_scan_catches_a_leaking_template(monkeypatch: pytest.MonkeyPatch) -> None:
    leaky = {
        "zh-CN": "贵单位当前为C类企业（{ref}）。",
        "en": "Your enterprise is in class C ({ref}).",
    }
    monkeypatch.setitem(reminders.TEMPLATES, ("penalty_repair", ""), leaky)
    for text in texts("penalty_repair", REF).values():
        assert any(leak.search(text) for leak in LEAKS)


@pytest.mark.parametrize(
    ("reason", "zh", "en"),
    [
        ("annual_report_missing", "补报", "file the missing annual report"),
        ("information_not_disclosed", "公示相关信息", "disclose that information"),
        ("false_information", "更正", "correct the disclosed information"),
        ("unreachable_at_address", "变更登记", "change of address"),
    ],
)
def test_a_listing_names_the_fact_and_how_to_leave_the_list(reason: str, zh: str, en: str) -> None:
    t = texts("abnormal_list", "异-8", reason)
    assert "异-8" in t["zh-CN"] and zh in t["zh-CN"] and "申请移出" in t["zh-CN"]
    assert "异-8" in t["en"] and en in t["en"].lower() and "removal" in t["en"]


def test_a_penalty_repair_names_the_decision_and_credit_repair() -> None:
    t = texts("penalty_repair", REF)
    assert REF in t["zh-CN"] and "信用修复" in t["zh-CN"]
    assert REF in t["en"] and "credit repair" in t["en"]


def test_ids_are_derived_from_enterprise_kind_and_ref() -> None:
    u = "91610112MA6TGQ1K2M"
    assert reminder_id(u, "penalty_repair", REF) == reminder_id(u, "penalty_repair", REF)
    assert reminder_id(u, "penalty_repair", REF) != reminder_id(u, "abnormal_list", REF)
    assert reminder_id(u, "penalty_repair", REF) != reminder_id(u, "penalty_repair", "罚-2")
