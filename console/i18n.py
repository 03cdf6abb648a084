"""The console's words in Chinese (the default) and English.

The language is ``?lang=`` when given (``zh`` or ``en``; the page then remembers it in a
cookie), else the ``riskmon_lang`` cookie, else Chinese. A key without a translation shows
as the key itself, so a missing word is seen rather than hidden. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

__all__ = ["LANGS", "LANG_COOKIE", "Lang", "choose", "words"]

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
LANG_COOKIE: Final = "riskmon_lang"

_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    # key: (zh, en)
    "title": ("风险预警中心", "Warning centre"),
    "feed": ("实时预警", "Live feed"),
    "tasks": ("检查任务", "Tasks"),
    "regions": ("区域风险", "Regions"),
    "industries": ("行业风险", "Industries"),
    "enterprise": ("企业", "Enterprise"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "token": ("访问令牌", "Access token"),
    "token_help": (
        "粘贴 riskmon token create 生成的令牌",
        "Paste a token made by riskmon token create",
    ),
    "bad_token": ("令牌无效或已过期", "The token is not valid or has expired"),
    "type": ("类型", "Type"),
    "severity": ("级别", "Severity"),
    "class": ("信用等级", "Class"),
    "division": ("行政区划", "Division"),
    "industry": ("行业", "Industry"),
    "all": ("全部", "All"),
    "filter": ("筛选", "Filter"),
    "time": ("时间", "Time"),
    "subject": ("对象", "Subject"),
    "detail": ("详情", "Detail"),
    "ack": ("确认", "Acknowledge"),
    "acked": ("已确认", "Acknowledged"),
    "note": ("备注", "Note"),
    "by": ("确认人", "By"),
    "open": ("未确认", "Open"),
    "connected": ("已连接", "Connected"),
    "reconnecting": ("重新连接中", "Reconnecting"),
    "score": ("分值", "Score"),
    "asof": ("截至", "As of"),
    "history": ("等级变化历史", "Class changes"),
    "contributions": ("计分明细", "Contributions"),
    "points": ("分值", "Points"),
    "points_now": ("当前分值", "Points now"),
    "event_type": ("事件类型", "Event type"),
    "reference": ("文号", "Reference"),
    "until": ("截止", "Until"),
    "cancelled": ("已撤销", "Cancelled"),
    "open_tasks": ("未完成任务", "Open tasks"),
    "observation": ("观察期", "Observation period"),
    "none": ("无", "None"),
    "redacted": (
        "计分明细仅对分析员及以上角色可见",
        "Contributions are shown to analysts and above",
    ),
    "unknown_enterprise": ("未找到该企业", "Unknown enterprise"),
    "state": ("状态", "State"),
    "trigger": ("触发原因", "Trigger"),
    "due": ("期限", "Due"),
    "code": ("代码", "Code"),
    "enterprises": ("企业数", "Enterprises"),
    "cd_share": ("C+D 占比", "C+D share"),
    "d_entries_7d": ("7日新增D级", "D entries, 7 days"),
    "trend": ("趋势", "Trend"),
    "not_wired": ("区域与行业数据尚未接入", "Area counts are not available yet"),
    "more": ("更多", "More"),
    "language": ("English", "中文"),
    "riskmon.alert.class_changed": ("等级变化", "Class change"),
    "riskmon.alert.warning": ("企业预警", "Enterprise warning"),
    "riskmon.alert.region": ("区域预警", "Regional warning"),
    "riskmon.alert.industry": ("行业预警", "Industry warning"),
    "riskmon.task.created": ("新任务", "Task created"),
    "riskmon.task.overdue": ("任务逾期", "Task overdue"),
    "riskmon.observation.started": ("观察期开始", "Observation started"),
    "riskmon.observation.ended": ("观察期结束", "Observation ended"),
    "info": ("提示", "info"),
    "warning": ("警告", "warning"),
    "critical": ("严重", "critical"),
    "created": ("已创建", "created"),
    "assigned": ("已分派", "assigned"),
    "in_progress": ("进行中", "in progress"),
    "completed": ("已完成", "completed"),
    "cancelled_task": ("已取消", "cancelled"),
}


def choose(query_lang: str | None, cookie_lang: str | None) -> Lang:
    """The page's language: the query's, else the cookie's, else Chinese."""
    for lang in (query_lang, cookie_lang):
        if lang == "en":
            return "en"
        if lang == "zh":
            return "zh"
    return "zh"


class _Words(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key


def words(lang: Lang) -> dict[str, str]:
    """Every key's word in ``lang`` (what templates get as ``t``); a key it lacks reads as
    itself."""
    i = LANGS.index(lang)
    return _Words({key: pair[i] for key, pair in _WORDS.items()})
