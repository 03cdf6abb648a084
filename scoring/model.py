"""The scoring model: a versioned data file, validated at start.

A model says, for each event type, how many risk points it adds, to which of the five
dimensions of the national indicator system, and how long it counts (``impact_days``: a hard end;
``half_life_days``: exponential fading); per-dimension caps; the direct-class rules
(qualitative first: a serious-violation listing puts a firm in D, an abnormal-list entry in at
least C); and the score thresholds between classes. Points are *risk* points: higher is riskier.

Load with :func:`load_model`; a bad file raises :class:`~scoring.exceptions.ModelError` whose
message names the offending field (``penalty.points_by_severity.grave: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.classes import ClassName
from schemas.events import AbnormalReason, InspectionResult, PenaltyDomain, Severity
from schemas.toml_files import load_validated
from scoring.exceptions import ModelError

__all__ = [
    "DEFAULT_MODEL",
    "Dimension",
    "ScoringModel",
    "load_model",
]

DEFAULT_MODEL = "default.toml"
_DAY = 86_400


class Dimension(IntEnum):
    """The five first-level dimensions (docs/domain.md §2). The value is the index used in Redis."""

    BASIC = 1
    DYNAMIC = 2
    SUPERVISION = 3
    RELATIONS = 4
    SOCIAL = 5


DimensionName = Literal["basic", "dynamic", "supervision", "relations", "social"]
Points = Annotated[float, Field(ge=-1000, le=1000)]
Days = Annotated[float, Field(gt=0, le=36_500)]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _require_all(table: Mapping[Any, float], names: Any, field: str) -> None:
    missing = set(get_args(names)) - set(table)
    if missing:
        raise ValueError(f"{field} lacks {sorted(missing)}")


class Fade(BaseModel):
    """How long a contribution counts. Neither set: until cancelled (listings)."""

    model_config = _FROZEN
    half_life_days: Days | None = None
    impact_days: Days | None = None

    def half_life_seconds(self) -> int:
        return round(self.half_life_days * _DAY) if self.half_life_days else 0

    def impact_seconds(self, override_days: float | None = None) -> int:
        days = override_days or self.impact_days
        return round(days * _DAY) if days else 0


class FineStep(BaseModel):
    model_config = _FROZEN
    from_cny: float = Field(ge=0)
    points: Points


class PenaltyRule(Fade):
    dimension: DimensionName = "supervision"
    points_by_severity: dict[Severity, Points]
    fine_steps: list[FineStep] = Field(default_factory=list)
    licence_revoked_points: Points = 0
    key_domains: list[PenaltyDomain] = Field(default_factory=list)
    key_domain_multiplier: float = Field(default=1.0, ge=1, le=10)
    key_domain_impact_days: Days | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        _require_all(self.points_by_severity, Severity, "points_by_severity")
        froms = [s.from_cny for s in self.fine_steps]
        if froms != sorted(froms) or len(set(froms)) != len(froms):
            raise ValueError("fine_steps must be in strictly increasing from_cny order")
        return self


class AbnormalListRule(Fade):
    dimension: DimensionName = "supervision"
    points_by_reason: dict[AbnormalReason, Points]
    min_class: ClassName | None = "C"

    @model_validator(mode="after")
    def _complete(self) -> Self:
        _require_all(self.points_by_reason, AbnormalReason, "points_by_reason")
        return self


class SeriousViolationRule(Fade):
    dimension: DimensionName = "supervision"
    points: Points
    min_class: ClassName | None = "D"


class ComplaintRule(Fade):
    dimension: DimensionName = "social"
    points: Points


class InspectionRule(Fade):
    dimension: DimensionName = "supervision"
    points_by_result: dict[InspectionResult, Points]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        _require_all(self.points_by_result, InspectionResult, "points_by_result")
        return self


class RegistrationRule(BaseModel):
    """Basic attributes: a young firm carries points until it is ``young_firm_days`` old."""

    model_config = _FROZEN
    dimension: DimensionName = "basic"
    young_firm_days: Days
    young_firm_points: Points


class Thresholds(BaseModel):
    """Score (risk points) at which each class starts; below ``b_from`` is A."""

    model_config = _FROZEN
    b_from: float = Field(gt=0)
    c_from: float = Field(gt=0)
    d_from: float = Field(gt=0)

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        if not self.b_from < self.c_from < self.d_from:
            raise ValueError("thresholds must satisfy b_from < c_from < d_from")
        return self


class TickSettings(BaseModel):
    model_config = _FROZEN
    horizon_days: Days = 36_500
    #: How far a partition's event time must pass a time-driven change's due moment before
    #: the change is made (scoring/partition.py); 0: as soon as it passes.
    lateness_hours: Annotated[float, Field(ge=0, le=8_760)] = 0.0


class ScoringModel(BaseModel):
    model_config = _FROZEN
    version: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    description: str = ""
    thresholds: Thresholds
    dimension_caps: dict[DimensionName, Annotated[float, Field(gt=0)]]
    registration: RegistrationRule
    penalty: PenaltyRule
    abnormal_list: AbnormalListRule
    serious_violation: SeriousViolationRule
    complaint: ComplaintRule
    inspection: InspectionRule
    tick: TickSettings = TickSettings()

    @model_validator(mode="after")
    def _sound(self) -> Self:
        missing = {d.name.lower() for d in Dimension} - set(self.dimension_caps)
        if missing:
            raise ValueError(f"dimension_caps lacks {sorted(missing)}")
        # Negative points (credit for a clean inspection) must not fade by half-life: the
        # scheduler relies on a score that only falls between expiries (see scoring.fold).
        fading: dict[str, tuple[float, ...]] = {
            "penalty": (
                *self.penalty.points_by_severity.values(),
                *(step.points for step in self.penalty.fine_steps),
                self.penalty.licence_revoked_points,
            ),
            "abnormal_list": tuple(self.abnormal_list.points_by_reason.values()),
            "serious_violation": (self.serious_violation.points,),
            "complaint": (self.complaint.points,),
            "inspection": tuple(self.inspection.points_by_result.values()),
        }
        for name, values in fading.items():
            rule: Fade = getattr(self, name)
            if rule.half_life_days and any(v < 0 for v in values):
                raise ValueError(
                    f"{name}: negative points cannot have half_life_days; use impact_days"
                )
        return self

    def thresholds_micro(self) -> tuple[int, int, int]:
        t = self.thresholds
        return (to_micro(t.b_from), to_micro(t.c_from), to_micro(t.d_from))

    def caps_micro(self) -> tuple[int, int, int, int, int]:
        c = self.dimension_caps
        b, d, s, r, so = (
            to_micro(c[n]) for n in ("basic", "dynamic", "supervision", "relations", "social")
        )
        return (b, d, s, r, so)


def to_micro(points: float) -> int:
    """Points as integer micro-points: sums of these are exact, so order cannot change them."""
    return round(points * 1_000_000)


def load_model(path: str | Path | None = None) -> ScoringModel:
    """Load and validate a model file (TOML). ``None`` loads the shipped default model."""
    return load_validated(
        ScoringModel,
        path,
        resources.files("scoring.models").joinpath(DEFAULT_MODEL),
        what="scoring model",
        default_name=f"default model {DEFAULT_MODEL}",
        error=ModelError,
    )
