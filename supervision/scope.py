"""The scope of a plan: which part of the directory it draws from (pure).

``--scope KEY=VALUE``, repeatable; several values of one key widen it (either), different keys
narrow it (both):

================  ===========================================================================
``division``      a GB/T 2260 code or prefix, 2-6 digits: ``61`` (Shaanxi), ``6101`` (Xi'an),
                  ``610112`` (Weiyang); matches the registered division code's beginning
``industry``      a GB/T 4754-2017 section letter (``F``), a two-digit division (``14``), or
                  both (``C14``); matches the registered industry code
``entity_type``   ``enterprise``, ``individual_business`` or ``farmers_cooperative``
``domain``        the plan's key domain (at most one): it narrows the directory to the
                  industries the domain covers (:data:`DOMAIN_INDUSTRIES`), and only inspectors
                  qualified for it are drawn
================  ===========================================================================

The industries of a key domain are GB/T 4754-2017 code prefixes (a registered code that begins
with one is in the domain):

* ``food``: manufacture of agricultural food products (C13), of foods (C14), of drinks and
  tea (C15); wholesale (F512) and specialised retail (F522) of food and drink, supermarkets
  (F5212); catering (H62);
* ``drug``: manufacture of medicines (C27) and of medical devices (C358); wholesale (F515) and
  retail (F525) of medicines and medical devices;
* ``special_equipment``: manufacture of boilers (C341), lifting and handling equipment with
  lifts (C343), pumps, valves and compressors (C344); and their main users, property
  management running lifts (K702) and motor repair with lifts and pressure vessels (O811);
* ``quality`` (product quality): all manufacturing (section C).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, get_args

from schemas.events import EntityType
from supervision.exceptions import ScopeError

__all__ = ["DOMAIN_INDUSTRIES", "SCOPE_KEYS", "Scope", "parse_scope", "scope_from_content"]

#: Key domain -> the GB/T 4754-2017 code prefixes it covers (see the module's docstring).
DOMAIN_INDUSTRIES: Final[Mapping[str, tuple[str, ...]]] = {
    "food": ("C13", "C14", "C15", "F512", "F522", "F5212", "H62"),
    "drug": ("C27", "C358", "F515", "F525"),
    "special_equipment": ("C341", "C343", "C344", "K702", "O811"),
    "quality": ("C",),
}
SCOPE_KEYS = ("division", "industry", "entity_type", "domain")
_ENTITY_TYPES = frozenset(get_args(EntityType))
_DIVISION = re.compile(r"^\d{2,6}$")
_INDUSTRY = re.compile(r"^(?:[A-T]|\d{2}|[A-T]\d{2})$")


@dataclass(frozen=True, slots=True)
class Scope:
    """Each key's values, sorted (empty: no restriction on that key)."""

    division: tuple[str, ...] = ()
    industry: tuple[str, ...] = ()
    entity_type: tuple[str, ...] = ()
    domain: str = ""

    def content(self) -> dict[str, list[str]]:
        """The scope as a plan records it: only the keys given, each a sorted list."""
        doc = {
            "division": list(self.division),
            "industry": list(self.industry),
            "entity_type": list(self.entity_type),
            "domain": [self.domain] if self.domain else [],
        }
        return {k: v for k, v in doc.items() if v}

    def covers(self, division: str, industry: str, entity_type: str) -> bool:
        """True if an enterprise registered so is in the scope."""
        if self.division and not division.startswith(self.division):
            return False
        if self.industry and not any(_industry_matches(v, industry) for v in self.industry):
            return False
        if self.entity_type and entity_type not in self.entity_type:
            return False
        return not self.domain or industry.startswith(DOMAIN_INDUSTRIES[self.domain])


def _industry_matches(value: str, code: str) -> bool:
    if value[0].isdigit():  # a division alone: the two digits after the section letter
        return code[1:3] == value
    return code.startswith(value)


def _build(values: Mapping[str, Sequence[str]], where: str) -> Scope:
    for key in values:
        if key not in SCOPE_KEYS:
            raise ScopeError(f"{where}: unknown key {key!r}: use {', '.join(SCOPE_KEYS)}")
    for v in values.get("division", ()):
        if not _DIVISION.match(v):
            raise ScopeError(f"{where}: division={v}: a GB/T 2260 code or prefix, 2-6 digits")
    for v in values.get("industry", ()):
        if not _INDUSTRY.match(v):
            raise ScopeError(
                f"{where}: industry={v}: a GB/T 4754 section letter (F), a two-digit"
                " division (14), or both (C14)"
            )
    for v in values.get("entity_type", ()):
        if v not in _ENTITY_TYPES:
            raise ScopeError(f"{where}: entity_type={v}: one of {', '.join(sorted(_ENTITY_TYPES))}")
    domains = sorted(set(values.get("domain", ())))
    if len(domains) > 1:
        raise ScopeError(f"{where}: domain: at most one key domain, not {', '.join(domains)}")
    for v in domains:
        if v not in DOMAIN_INDUSTRIES:
            raise ScopeError(f"{where}: domain={v}: one of {', '.join(DOMAIN_INDUSTRIES)}")
    return Scope(
        division=tuple(sorted(set(values.get("division", ())))),
        industry=tuple(sorted(set(values.get("industry", ())))),
        entity_type=tuple(sorted(set(values.get("entity_type", ())))),
        domain=domains[0] if domains else "",
    )


def parse_scope(items: Sequence[str]) -> Scope:
    """The scope of ``--scope KEY=VALUE`` arguments. Raises :class:`ScopeError` naming the
    argument that is wrong."""
    values: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ScopeError(f"--scope {item}: expected KEY=VALUE, e.g. division=610112")
        values.setdefault(key, []).append(value)
    return _build(values, "--scope")


def scope_from_content(doc: object) -> Scope:
    """The scope a plan recorded (:meth:`Scope.content`). Raises :class:`ScopeError`."""
    if not isinstance(doc, Mapping) or not all(isinstance(v, list) for v in doc.values()):
        raise ScopeError("scope: expected an object of lists")
    return _build({str(k): [str(x) for x in v] for k, v in doc.items()}, "scope")
