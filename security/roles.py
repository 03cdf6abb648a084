"""Who may do what: four roles, each allowed everything the one below it may.

=============== ==========================================================================
role            may
=============== ==========================================================================
``viewer``      an enterprise's class and score; region and industry tables
``analyst``     + contributions and explanations, alerts, warnings, the discovery rates
``supervisor``  + plans, tasks and their transitions, acknowledgements
``admin``       + models (shadow, promote, reclassify), tokens, the audit log
=============== ==========================================================================

A :class:`Principal` is whoever a request or a command acts for: a riskmon token or an
organisation's OIDC identity, and the role it carries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

__all__ = ["ROLE_NAMES", "Principal", "Role", "parse_role"]


class Role(enum.IntEnum):
    """Ordered: a role may do everything a lower one may (``>=`` compares them)."""

    VIEWER = 1
    ANALYST = 2
    SUPERVISOR = 3
    ADMIN = 4

    def __str__(self) -> str:
        return self.name.lower()


#: Every role's name, lowest first: what ``--role`` and the OIDC role claim accept.
ROLE_NAMES: tuple[str, ...] = tuple(str(r) for r in Role)


def parse_role(name: str) -> Role:
    """The role called ``name`` (case-insensitive). Raises ValueError naming the choices."""
    try:
        return Role[name.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown role {name!r}: one of {', '.join(ROLE_NAMES)}") from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts. ``subject``: a token's name, or the OIDC ``sub`` (prefixed by nothing: the
    issuer is one per deployment); ``via``: how it proved itself; ``token_id``: the riskmon
    token's public id (empty for OIDC)."""

    subject: str
    role: Role
    via: Literal["token", "oidc"]
    token_id: str = ""

    def may(self, needed: Role) -> bool:
        return self.role >= needed

    @property
    def actor(self) -> str:
        """How records name this principal: ``token:<name>`` or ``oidc:<sub>``."""
        return f"{self.via}:{self.subject}"
