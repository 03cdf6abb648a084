"""The webhook subscribers file (pure): who gets which messages, signed with what secret, and
how long delivery keeps trying (``RISKMON_WEBHOOKS_PATH``; unset: no subscribers).

::

    version = "2026-12"

    [[subscriber]]
    id = "duty-desk"                     # names it in GET /webhooks/deliveries and in metrics
    url = "https://hooks.example.org/riskmon"
    secret = "whsec_..."                 # Standard Webhooks: whsec_ + base64 of 24-64 bytes
    types = ["riskmon.alert.warning", "riskmon.alert.class_changed"]
    min_severity = "warning"             # messages that carry a severity: at least this
    timeout_seconds = 10                 # per attempt
    max_age_seconds = 86400              # keep trying this long after enqueueing, then dead
    max_attempts = 60                    # the retry cap (whichever of the two comes first)
    first_retry_seconds = 5              # backoff: doubling from this ...
    max_retry_seconds = 3600             # ... up to this, each with jitter

    [alertmanager]                       # optional: the same limits for Alertmanager's posts
    max_age_seconds = 86400

Only ``id``, ``url``, ``secret`` and ``types`` are required. A message without a severity (a
class change, a task) passes the severity filter; the type filter decides for it.

Validated once at start: an error names the field (``subscriber.0.secret: ...``) and never
echoes a secret. ``alertmanager`` is a reserved id: the pseudo-subscriber that posts to
Alertmanager through the same outbox.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated, Final, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from schemas.alerts import OutputType, Severity
from schemas.toml_files import load_validated

__all__ = [
    "ALERTMANAGER",
    "SEVERITY_ORDER",
    "DeliveryLimits",
    "Subscriber",
    "WebhooksConfig",
    "WebhooksConfigError",
    "load",
]

#: The id of the Alertmanager pseudo-subscriber (reserved in the file).
ALERTMANAGER: Final = "alertmanager"
#: Severities from least to most urgent.
SEVERITY_ORDER: Final[tuple[Severity, ...]] = get_args(Severity)

_OURS = ConfigDict(frozen=True, extra="forbid")
#: Standard Webhooks: secrets of 24 to 64 random bytes.
_SECRET_BYTES: Final = (24, 64)


class WebhooksConfigError(Exception):
    """The subscribers file is unreadable or invalid (fail at start; not retryable)."""

    retryable = False


class DeliveryLimits(BaseModel):
    """How long and how often one delivery is tried (defaults: a day, doubling from 5 s to an
    hour: about 30 attempts before a day is out)."""

    model_config = _OURS
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    max_age_seconds: Annotated[float, Field(gt=0, le=7 * 86_400)] = 86_400.0
    max_attempts: Annotated[int, Field(ge=1, le=1_000)] = 60
    first_retry_seconds: Annotated[float, Field(gt=0, le=3_600)] = 5.0
    max_retry_seconds: Annotated[float, Field(gt=0, le=86_400)] = 3_600.0

    @model_validator(mode="after")
    def _retry_range(self) -> Self:
        if self.max_retry_seconds < self.first_retry_seconds:
            raise ValueError("max_retry_seconds must be at least first_retry_seconds")
        return self


class Subscriber(DeliveryLimits):
    """One webhook receiver and what it wants."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]
    url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+", max_length=2_000)]
    #: Never logged, never shown (``SecretStr``: its repr is ``**********``).
    secret: SecretStr
    types: Annotated[frozenset[OutputType], Field(min_length=1)]
    min_severity: Severity = "info"

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v == ALERTMANAGER:
            raise ValueError(f"{ALERTMANAGER!r} is reserved for Alertmanager's posts")
        return v

    @field_validator("secret")
    @classmethod
    def _whsec(cls, v: SecretStr) -> SecretStr:
        # The messages name the rule, never the value.
        raw = v.get_secret_value()
        if not raw.startswith("whsec_"):
            raise ValueError("must start with whsec_ (Standard Webhooks)")
        try:
            key = base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be whsec_ followed by standard base64") from None
        low, high = _SECRET_BYTES
        if not low <= len(key) <= high:
            raise ValueError(f"must encode {low} to {high} bytes, not {len(key)}")
        return v

    def wants_severity(self, severity: Severity | None) -> bool:
        """True for a message without a severity, or one at least :attr:`min_severity`."""
        if severity is None:
            return True
        return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(self.min_severity)


class WebhooksConfig(BaseModel):
    """The whole file: its version, the subscribers (ids unique), Alertmanager's limits."""

    model_config = _OURS
    version: Annotated[str, Field(min_length=1, max_length=64)] = "unversioned"
    subscriber: tuple[Subscriber, ...] = ()
    alertmanager: DeliveryLimits = DeliveryLimits()

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for s in self.subscriber:
            if s.id in seen:
                raise ValueError(f"subscriber id {s.id!r} appears twice")
            seen.add(s.id)
        return self

    @property
    def subscribers(self) -> tuple[Subscriber, ...]:
        return self.subscriber

    def limits(self, subscriber_id: str) -> DeliveryLimits | None:
        """The limits of ``subscriber_id`` (Alertmanager's for :data:`ALERTMANAGER`); None: no
        such subscriber (any more)."""
        if subscriber_id == ALERTMANAGER:
            return self.alertmanager
        return next((s for s in self.subscriber if s.id == subscriber_id), None)

    def subscriber_by_id(self, subscriber_id: str) -> Subscriber | None:
        return next((s for s in self.subscriber if s.id == subscriber_id), None)


def load(path: str | Path | None) -> WebhooksConfig:
    """The subscribers file at ``path`` (None: no subscribers). Raises
    :class:`WebhooksConfigError` naming the file and each invalid field."""
    if path is None:
        return WebhooksConfig()
    return load_validated(
        WebhooksConfig,
        path,
        Path(path),
        what="webhooks file",
        default_name="none",
        error=WebhooksConfigError,
    )
