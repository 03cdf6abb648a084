"""Risk reminders (风险提醒) to enterprises (pure): the texts, in zh-CN and en, and their ids.

A reminder goes to the channel that writes to enterprises (SMS, e-mail, the enterprise
portal). It names the fact and the remedy, and never the class, the score or the model: the
class is an internal reference for regulators (``tests/unit/supervision/test_reminders.py``
renders every template and fails if one does).

Kinds (``schemas.alerts.ReminderKind``) and their ``reason``:

* ``abnormal_list``: an abnormal-operations listing (``ref``: its decision number; reason:
  ``schemas.events.AbnormalReason``), saying how to leave the list;
* ``observation_trigger``: the first minor trigger of an observation period (reason:
  ``complaint`` or ``monitoring.signal``; ``ref``: the triggering event's id, not shown);
* ``penalty_repair``: a penalty's repair window opened (``ref``: its decision number).
"""

from __future__ import annotations

from typing import Final

from alerts.rules import derived_id

__all__ = ["LANGUAGES", "TEMPLATES", "reminder_id", "texts"]

LANGUAGES: Final = ("zh-CN", "en")

_OFFICE_EN = "the market regulation authority"

#: (kind, reason) -> language -> template; ``{ref}`` is the decision number.
TEMPLATES: Final[dict[tuple[str, str], dict[str, str]]] = {
    ("abnormal_list", "annual_report_missing"): {
        "zh-CN": "贵单位因未按规定期限报送年度报告，"
        "已被列入经营异常名录（决定书编号：{ref}）。"
        "请通过国家企业信用信息公示系统补报未报年份的年度报告并公示，"
        "然后向作出列入决定的市场监管部门申请移出经营异常名录。",
        "en": "Your enterprise has been placed on the list of enterprises with abnormal "
        "operations (decision {ref}) because its annual report was not filed on time. File "
        "the missing annual reports on the National Enterprise Credit Information Publicity "
        f"System, then apply to {_OFFICE_EN} that made the decision for removal from the list.",
    },
    ("abnormal_list", "information_not_disclosed"): {
        "zh-CN": "贵单位因未按规定公示应当公示的企业信息，"
        "已被列入经营异常名录（决定书编号：{ref}）。"
        "请通过国家企业信用信息公示系统公示相关信息，"
        "然后向作出列入决定的市场监管部门申请移出经营异常名录。",
        "en": "Your enterprise has been placed on the list of enterprises with abnormal "
        "operations (decision {ref}) because it did not disclose information it must "
        "disclose. Disclose that information on the National Enterprise Credit Information "
        f"Publicity System, then apply to {_OFFICE_EN} that made the decision for removal "
        "from the list.",
    },
    ("abnormal_list", "false_information"): {
        "zh-CN": "贵单位因公示信息隐瞒真实情况、弄虚作假，"
        "已被列入经营异常名录（决定书编号：{ref}）。"
        "请更正公示的信息，然后向作出列入决定的市场监管部门申请移出经营异常名录。",
        "en": "Your enterprise has been placed on the list of enterprises with abnormal "
        "operations (decision {ref}) because information it disclosed was untrue. Correct "
        f"the disclosed information, then apply to {_OFFICE_EN} that made the decision for "
        "removal from the list.",
    },
    ("abnormal_list", "unreachable_at_address"): {
        "zh-CN": "贵单位因通过登记的住所或者经营场所无法联系，"
        "已被列入经营异常名录（决定书编号：{ref}）。"
        "请依法办理住所或者经营场所变更登记，或者证明可以通过登记的住所或者经营场所重新取得联系，"
        "然后向作出列入决定的市场监管部门申请移出经营异常名录。",
        "en": "Your enterprise has been placed on the list of enterprises with abnormal "
        "operations (decision {ref}) because it could not be reached at its registered "
        "address. Register a change of address, or show that it can be reached at the "
        f"registered address again, then apply to {_OFFICE_EN} that made the decision for "
        "removal from the list.",
    },
    ("observation_trigger", "complaint"): {
        "zh-CN": "市场监管部门近期收到涉及贵单位经营活动的投诉举报。"
        "请对照相关法律法规和标准开展自查，及时整改发现的问题，"
        "并可主动与辖区市场监管所联系说明情况。",
        "en": "The market regulation authority has recently received complaints about your "
        "enterprise's business. Review your operations against the applicable laws and "
        "standards, correct any problem you find, and feel free to contact your local "
        "market regulation office to explain.",
    },
    ("observation_trigger", "monitoring.signal"): {
        "zh-CN": "市场监管部门的监测发现贵单位经营活动中存在需要关注的情况。"
        "请对照相关法律法规和标准开展自查，及时整改发现的问题，"
        "并可主动与辖区市场监管所联系说明情况。",
        "en": "Monitoring by the market regulation authority has found a matter in your "
        "enterprise's business that needs attention. Review your operations against the "
        "applicable laws and standards, correct any problem you find, and feel free to "
        "contact your local market regulation office to explain.",
    },
    ("penalty_repair", ""): {
        "zh-CN": "贵单位受到的行政处罚（决定书编号：{ref}）最短公示期已届满。"
        "如已履行行政处罚决定规定的义务，可依法向市场监管部门申请信用修复，"
        "提前停止公示该行政处罚信息。",
        "en": "The minimum publicity period of the administrative penalty against your "
        "enterprise (decision {ref}) has ended. Once you have fulfilled the obligations "
        f"the decision imposes, you may apply to {_OFFICE_EN} for credit repair, to stop "
        "the publicity of this penalty.",
    },
}


def texts(kind: str, ref: str, reason: str = "") -> dict[str, str]:
    """The reminder's text per language. Raises KeyError for a (kind, reason) with no
    template (a configuration or schema change that forgot its text)."""
    return {lang: t.format(ref=ref) for lang, t in TEMPLATES[(kind, reason)].items()}


def reminder_id(uscc: str, kind: str, ref: str) -> str:
    """The reminder's message id: the same (enterprise, kind, ref) always gives the same id."""
    return derived_id(uscc, "reminder", kind, ref)
