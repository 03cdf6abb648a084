"""The district's enterprises: what each one is, drawn from its own seeded generator (pure).

Enterprise ``i`` of seed ``s`` draws from ``random.Random(f"{s}:{i}:firm")`` (seeded through
SHA-512, independent of ``PYTHONHASHSEED``), so any enterprise can be rebuilt without the others.
Its hidden ``propensity`` to violate (Beta(0.8, 6): most firms near 0, a long tail of habitual
offenders) never appears in an event.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from district.addresses import address, shared_addresses
from district.shares import DIVISIONS, INDUSTRIES, KeySector
from schemas.events import EntityType
from schemas.uscc import ALPHABET, check_char, org_check_char

__all__ = ["CST", "DAY", "YEAR", "DistrictSpec", "Enterprise", "enterprise", "enterprises"]

#: China Standard Time: event times are local, as upstream systems publish them.
CST: Final = dt.timezone(dt.timedelta(hours=8))
DAY: Final = 86_400
YEAR: Final = 365.25 * DAY

_DIV_CODES: Final = list(DIVISIONS)
_DIV_CUM: Final = list(accumulate(DIVISIONS.values()))
_IND_CUM: Final = list(accumulate(ind.share for ind in INDUSTRIES))
_ENTITY: Final[tuple[tuple[EntityType, str, float], ...]] = (
    ("enterprise", "1", 0.90),
    ("individual_business", "2", 0.08),
    ("farmers_cooperative", "3", 0.02),
)
_ORG_SPACE: Final = len(ALPHABET) ** 7
# An affine bijection of the index space: codes of consecutive firms do not look consecutive.
_ORG_MULT: Final = 1_000_003
_NAME_CHARS: Final = "华信达源泰恒瑞祥丰盛宏鑫诚和兴安汇通博远秦唐雁长乐景明德嘉荣"
_TRADE: Final = {
    "F": "商贸",
    "L": "商务服务",
    "C": "制造",
    "H": "餐饮管理",
    "I": "信息科技",
    "E": "建设工程",
    "M": "科技服务",
    "K": "置业",
    "O": "生活服务",
    "G": "物流",
}


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    """What to generate. ``now`` (timezone-aware) ends the simulated period of ``period_days``."""

    now: dt.datetime
    enterprises: int = 20_000
    seed: int = 0
    period_days: int = 730
    chunk: int = 1_000

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if not 1 <= self.enterprises <= _ORG_SPACE:
            raise ValueError(f"enterprises must be 1..{_ORG_SPACE}, not {self.enterprises}")
        if self.period_days < 1 or self.chunk < 1:
            raise ValueError("period_days and chunk must be >= 1")

    @property
    def end(self) -> int:
        return int(self.now.timestamp())

    @property
    def start(self) -> int:
        return self.end - self.period_days * DAY


@dataclass(frozen=True, slots=True)
class Enterprise:
    """One synthetic enterprise. ``propensity`` (0..1) is the hidden truth: never in an event."""

    index: int
    uscc: str
    name: str
    entity_type: EntityType
    division: str
    industry: str
    key_sector: KeySector | None
    new_economy: bool
    founded_on: dt.date
    registered_capital_cny: float
    propensity: float
    #: Its registered address (district/addresses.py: shell-like firms share a few).
    address: str = ""


def _uscc(index: int, entity_char: str, authority_division: str, rng: random.Random) -> str:
    """A valid USCC whose organisation body encodes ``index``: unique within a district."""
    n = (index * _ORG_MULT + 7_777_777) % _ORG_SPACE
    body = rng.choice(ALPHABET[1:])
    digits = []
    for _ in range(7):
        n, r = divmod(n, len(ALPHABET))
        digits.append(ALPHABET[r])
    body += "".join(reversed(digits))
    first17 = "9" + entity_char + authority_division + body + org_check_char(body)
    return first17 + check_char(first17)


def enterprise(spec: DistrictSpec, index: int) -> Enterprise:
    """Enterprise ``index`` (0-based) of the district: the same for the same spec and index."""
    rng = random.Random(f"{spec.seed}:{index}:firm")
    division = _DIV_CODES[bisect.bisect(_DIV_CUM, rng.random() * _DIV_CUM[-1])]
    ind = INDUSTRIES[bisect.bisect(_IND_CUM, rng.random() * _IND_CUM[-1])]
    u = rng.random()
    entity_type, entity_char = _ENTITY[-1][:2]
    for et, ch, share in _ENTITY:
        if u < share:
            entity_type, entity_char = et, ch
            break
        u -= share
    # The USCC carries the registering authority: a few firms registered by the municipal
    # bureau or a development zone carry 610100, not their address's district.
    authority = "610100" if rng.random() < 0.1 else division
    uscc = _uscc(index, entity_char, authority, rng)
    age_days = min(30 * 365, int(rng.expovariate(1 / (6 * 365))))
    founded = (spec.now.astimezone(CST) - dt.timedelta(days=age_days)).date()
    capital = max(10_000.0, round(math.exp(rng.gauss(math.log(1e6), 1.5)), -4))
    if entity_type == "individual_business":
        capital = max(10_000.0, round(capital / 50, -4))
    name = "西安" + "".join(rng.choice(_NAME_CHARS) for _ in range(2)) + _TRADE[ind.code[0]]
    name += {
        "enterprise": "有限公司",
        "individual_business": "店",
        "farmers_cooperative": "合作社",
    }[entity_type]
    propensity = rng.betavariate(0.8, 6.0)
    # From a generator of its own: the draws above are what they were before addresses.
    where = random.Random(f"{spec.seed}:{index}:address")
    centres = shared_addresses(division, spec.enterprises, DIVISIONS[division])
    return Enterprise(
        index=index,
        uscc=uscc,
        name=name,
        entity_type=entity_type,
        division=division,
        industry=ind.code,
        key_sector=ind.key_sector,
        new_economy=rng.random() < ind.new_economy,
        founded_on=founded,
        registered_capital_cny=capital,
        propensity=propensity,
        address=address(where, division, propensity, centres),
    )


def enterprises(spec: DistrictSpec) -> Iterator[Enterprise]:
    """Every enterprise of the district, in index order (a generator: nothing is kept)."""
    for i in range(spec.enterprises):
        yield enterprise(spec, i)
