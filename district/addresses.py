"""Where the district's enterprises are registered, and the bursts that early warnings look for
(pure).

Addresses: most firms have one of their own (a road, a number, a room). Shell-like firms, drawn
by the hidden propensity (the tail of it), register at one of a few business-centre addresses
of their division (集中登记), written in several ways (spaces, full-width digits), so that the
address-cluster warning has clusters to find and normalisation has spellings to join. Bursts:
the riskier a firm, the likelier a burst of complaints within three weeks, or a cluster of
penalties within five months, on top of its ordinary events.

Every draw here comes from a generator of its own (``f"{seed}:{index}:address"`` and
``…:bursts``), so the rest of an enterprise's events are what they were without them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final

__all__ = ["DIVISION_NAMES", "address", "burst_times", "shared_addresses"]

#: GB/T 2260 names of the district's divisions (district/shares.py).
DIVISION_NAMES: Final = {
    "610102": "新城区",
    "610103": "碑林区",
    "610104": "莲湖区",
    "610111": "灞桥区",
    "610112": "未央区",
    "610113": "雁塔区",
    "610114": "阎良区",
    "610115": "临潼区",
    "610116": "长安区",
    "610117": "高陵区",
    "610118": "鄠邑区",
}
_ROADS: Final = (
    "凤城八路", "未央路", "太华北路", "文景路", "朱雀大街", "含光路", "长安南路", "西影路",
    "纬二十六街", "经九路", "明光路", "北辰大道", "科技路", "高新六路", "丈八东路", "东大街",
)  # fmt: skip
_CENTRES: Final = ("创业大厦", "商务中心", "孵化园", "金融广场", "企业港")
#: Firms per business-centre address, about (one such address per this many firms of a division).
FIRMS_PER_CENTRE: Final = 400
#: Propensity above which a firm is shell-like, and its chance to register at a business centre.
SHELL_PROPENSITY: Final = 0.30
SHELL_SHARE: Final = 0.5
_FULL_WIDTH: Final = str.maketrans("0123456789", "０１２３４５６７８９")


def shared_addresses(division: str, enterprises: int, share: float) -> list[str]:
    """The business-centre addresses of ``division`` (its ``share`` of ``enterprises``)."""
    n = max(1, int(enterprises * share) // FIRMS_PER_CENTRE)
    name = DIVISION_NAMES.get(division, "")
    digest = sum(map(ord, division))
    return [
        f"陕西省西安市{name}{_ROADS[(digest + k) % len(_ROADS)]}{18 + 7 * k}号"
        f"{_CENTRES[k % len(_CENTRES)]}"
        for k in range(n)
    ]


def _spelt(rng: random.Random, text: str) -> str:
    """One way a registrar writes ``text``: as is, with spaces, or with full-width digits."""
    u = rng.random()
    if u < 0.2:
        return text.replace("西安市", "西安市 ").replace("号", "号 ")
    if u < 0.35:
        return text.translate(_FULL_WIDTH)
    return text


def address(rng: random.Random, division: str, propensity: float, centres: Sequence[str]) -> str:
    """The registered address of a firm of ``division``: a business centre of ``centres`` for
    a shell-like firm (by ``propensity``), else one of its own."""
    if propensity > SHELL_PROPENSITY and centres and rng.random() < SHELL_SHARE:
        return _spelt(rng, rng.choice(centres))
    name = DIVISION_NAMES.get(division, "")
    road, number = rng.choice(_ROADS), rng.randint(1, 999)
    room = f"{rng.randint(1, 30)}{rng.randint(1, 40):02d}室"
    return f"陕西省西安市{name}{road}{number}号{room}"


def burst_times(rng: random.Random, start: int, end: int, count: int, span: int) -> list[int]:
    """``count`` times within ``span`` seconds of a moment drawn in [start, end - span), in
    order; [] when the period is shorter than ``span``."""
    if end - span <= start:
        return []
    t = start + rng.randrange(end - span - start)
    return sorted(t + rng.randrange(span) for _ in range(count))
