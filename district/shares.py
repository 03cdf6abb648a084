"""The designed make-up of the synthetic district: divisions, industries and their shares.

Plausible, not official, figures: Weiyang (610112) is the largest share, as the reference plan's
district; wholesale and retail (F) is the largest industry section, then leasing and business
services (L), manufacturing (C), accommodation and catering (H), information services (I) and
construction (E), as in the registration mix of a Chinese urban district.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["DIVISIONS", "INDUSTRIES", "Industry", "KeySector", "section_shares"]

KeySector = Literal["food", "drug", "special_equipment"]

#: GB/T 2260 districts of Xi'an (610102-610118) → share of enterprises registered there.
DIVISIONS: Final[dict[str, float]] = {
    "610112": 0.30,  # 未央区 Weiyang
    "610113": 0.17,  # 雁塔区 Yanta
    "610116": 0.10,  # 长安区 Chang'an
    "610104": 0.08,  # 莲湖区 Lianhu
    "610102": 0.07,  # 新城区 Xincheng
    "610103": 0.06,  # 碑林区 Beilin
    "610111": 0.06,  # 灞桥区 Baqiao
    "610115": 0.04,  # 临潼区 Lintong
    "610117": 0.04,  # 高陵区 Gaoling
    "610118": 0.05,  # 鄠邑区 Huyi
    "610114": 0.03,  # 阎良区 Yanliang
}


@dataclass(frozen=True, slots=True)
class Industry:
    """A GB/T 4754-2017 class with its share of enterprises.

    ``key_sector``: food, drug or special equipment (the plan's full-chain supervision), else
    None. ``new_economy``: the chance that a firm of this class is new-economy (三新).
    """

    code: str
    share: float
    key_sector: KeySector | None = None
    new_economy: float = 0.02


INDUSTRIES: Final[tuple[Industry, ...]] = (
    # F wholesale and retail: 0.38
    Industry("F5191", 0.10),  # 贸易代理
    Industry("F5211", 0.08),  # 百货零售
    Industry("F5221", 0.07, "food"),  # 粮油零售
    Industry("F5251", 0.03, "drug"),  # 西药零售
    Industry("F5292", 0.10, None, 0.8),  # 互联网零售
    # L leasing and business services: 0.14
    Industry("L7212", 0.07),  # 投资与资产管理
    Industry("L7251", 0.04, None, 0.6),  # 互联网广告服务
    Industry("L7281", 0.03),  # 科技会展服务
    # C manufacturing: 0.10
    Industry("C1311", 0.02, "food"),  # 稻谷加工
    Industry("C1431", 0.02, "food"),  # 米、面制品制造
    Industry("C2710", 0.01, "drug"),  # 化学药品原料药制造
    Industry("C3411", 0.02, "special_equipment"),  # 锅炉及辅助设备制造
    Industry("C3911", 0.03, None, 0.5),  # 计算机整机制造
    # H accommodation and catering: 0.09
    Industry("H6210", 0.05, "food"),  # 正餐服务
    Industry("H6220", 0.03, "food"),  # 快餐服务
    Industry("H6110", 0.01),  # 旅游饭店
    # I information services: 0.08
    Industry("I6510", 0.05, None, 0.7),  # 软件开发
    Industry("I6432", 0.03, None, 0.9),  # 互联网生活服务平台
    # E construction: 0.06
    Industry("E4710", 0.03),  # 住宅房屋建筑
    Industry("E5011", 0.03),  # 公共建筑装饰和装修
    # M science and technology services: 0.05
    Industry("M7520", 0.05, None, 0.5),  # 科技中介服务
    # K real estate: 0.04 (property management runs the lifts: special equipment)
    Industry("K7010", 0.02),  # 房地产开发经营
    Industry("K7020", 0.02, "special_equipment"),  # 物业管理
    # O residents' services: 0.04
    Industry("O8010", 0.02),  # 家庭服务
    Industry("O8111", 0.02, "special_equipment"),  # 汽车修理与维护
    # G transport: 0.02
    Industry("G5430", 0.02),  # 道路货物运输
)


def section_shares() -> dict[str, float]:
    """The designed share of each GB/T 4754 section letter (sums to 1)."""
    out: dict[str, float] = {}
    for ind in INDUSTRIES:
        out[ind.code[0]] = out.get(ind.code[0], 0.0) + ind.share
    return out
