"""The warnings file (pure): which early-warning rules run, with what parameters.

One file holds every rule, on enterprises (``[[enterprise]]``) and on areas (``[[area]]``),
each with an ``id`` (unique: it names the rule in every warning it fires, in metrics and in
alert ids), a ``kind`` (what it computes), a ``severity`` and the parameters of its kind. The
file's ``version`` is stamped on every warning, as a scoring model's version is on a class.

Validated once at start: an error names the field (``enterprise.0.window_days: ...``) and the
worker refuses to start. Every parameter is required: the file is the one place it is set.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.alerts import AreaKind, Severity
from schemas.toml_files import load_validated

__all__ = [
    "DEFAULT_WARNINGS",
    "AddressCluster",
    "AreaRule",
    "CdShare",
    "ComplaintSurge",
    "DSurge",
    "EnterpriseRule",
    "FirstD",
    "NearBoundary",
    "PenaltyCluster",
    "WarningsConfig",
    "WarningsError",
    "load",
]

#: The shipped rules, beside this module (package data).
DEFAULT_WARNINGS = "default.toml"

_OURS = ConfigDict(frozen=True, extra="forbid")
PositiveInt = Annotated[int, Field(gt=0, strict=True)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class WarningsError(ValueError):
    """The warnings file is invalid; the message names the file and each bad field."""


class _Rule(BaseModel):
    model_config = _OURS
    id: RuleId
    severity: Severity


class ComplaintSurge(_Rule):
    """At least ``min_count`` complaints in ``window_days``, and at least ``min_ratio`` times
    the enterprise's own rate over the ``trailing_days`` before the window."""

    kind: Literal["complaint_surge"]
    min_count: PositiveInt
    window_days: PositiveInt
    min_ratio: PositiveFloat
    trailing_days: PositiveInt

    @model_validator(mode="after")
    def _trailing_longer(self) -> Self:
        if self.trailing_days <= self.window_days:
            raise ValueError("trailing_days must be longer than window_days")
        return self


class PenaltyCluster(_Rule):
    """At least ``min_count`` penalties imposed in ``window_days`` (revoked ones do not count)."""

    kind: Literal["penalty_cluster"]
    min_count: PositiveInt
    window_days: PositiveInt


class AddressCluster(_Rule):
    """At least ``min_enterprises`` enterprises registered at one normalised address."""

    kind: Literal["address_cluster"]
    min_enterprises: Annotated[int, Field(ge=2, strict=True)]


class NearBoundary(_Rule):
    """The score within ``within_points`` below the next class's threshold, and rising (higher
    than the enterprise's score before the event)."""

    kind: Literal["near_boundary"]
    within_points: PositiveFloat


class FirstD(_Rule):
    """The enterprise enters D for the first time."""

    kind: Literal["first_d"]


EnterpriseRule = Annotated[
    ComplaintSurge | PenaltyCluster | AddressCluster | NearBoundary | FirstD,
    Field(discriminator="kind"),
]


class CdShare(_Rule):
    """An area's share of C and D exceeds the district's by at least ``excess_points``
    percentage points, with at least ``min_enterprises`` classified enterprises in it."""

    kind: Literal["cd_share"]
    scope: AreaKind
    excess_points: PositiveFloat
    min_enterprises: PositiveInt


class DSurge(_Rule):
    """An area's entries into D in the last 7 days are at least ``min_ratio`` times the mean
    of the ``trailing_weeks`` weeks before, and a count that high is unlikely under a Poisson
    law with that mean: P(X >= count) < ``alpha``."""

    kind: Literal["d_surge"]
    scope: AreaKind
    min_ratio: PositiveFloat
    alpha: Annotated[float, Field(gt=0, lt=1)]
    trailing_weeks: Annotated[int, Field(ge=1, le=52, strict=True)]


AreaRule = Annotated[CdShare | DSurge, Field(discriminator="kind")]


class WarningsConfig(BaseModel):
    """The whole file."""

    model_config = _OURS
    version: Annotated[str, Field(min_length=1, max_length=64)]
    enterprise: tuple[EnterpriseRule, ...] = ()
    area: tuple[AreaRule, ...] = ()

    @model_validator(mode="after")
    def _ids_unique(self) -> Self:
        seen: set[str] = set()
        for rule in (*self.enterprise, *self.area):
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self

    def enterprise_rules(self, kind: str) -> list[EnterpriseRule]:
        """The enterprise rules of ``kind``, in file order."""
        return [r for r in self.enterprise if r.kind == kind]


def load(path: str | Path | None = None) -> WarningsConfig:
    """The warnings file at ``path`` (None: the shipped default). Raises
    :class:`WarningsError` naming the file and every invalid field."""
    return load_validated(
        WarningsConfig,
        path,
        resources.files("alerts.warnings").joinpath(DEFAULT_WARNINGS),
        what="warnings file",
        default_name=DEFAULT_WARNINGS,
        error=WarningsError,
    )
