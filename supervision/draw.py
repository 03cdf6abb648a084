"""Drawing a spot-check plan from its snapshot (pure): the "double random" of 双随机一公开.

Anyone holding a plan's snapshot, pool and seed can redo the draw by hand or with a shell:
every choice is a SHA-256 (hex, lower case) of text in UTF-8, no random generator involved.

1. **Strata.** The snapshot's enterprises by class, A to D; ``N`` enterprises in a class.
2. **How many of a class** (randomised rounding): with ``r`` the class's ratio, exactly as the
   preset writes it (a decimal, e.g. 0.115), ``N·r = q + f`` with ``q`` whole and ``0 <= f < 1``.
   ``n = q``, plus one when ``h / 2^64 < f``, where ``h`` is the first 16 hex digits of
   ``SHA-256("<seed>:<class>")`` read as a number. So ``n`` is ``N·r`` rounded down or up, and
   its expected value over seeds is ``N·r`` exactly: no class is rounded against.
3. **Which enterprises**: each stratum ordered by ``SHA-256("<seed>:<uscc>")`` (ascending hex,
   then the USCC), its first ``n`` taken.
4. **Tasks** in the order of that same key across all classes. For each, ``per_task``
   inspectors from those qualified for the plan's domain (``supervision/inspectors.py``),
   leaving out those the enterprise must avoid (declared conflicts; its previous plan task's
   inspectors, so no inspector is sent to the same enterprise twice in a row), ordered by the
   tasks they already have in this plan (least first), then by
   ``SHA-256("<seed>:<uscc>:<inspector id>")``; the first ``per_task`` are taken, listed in
   that order. Too few left fails the whole draw (:class:`DrawError`, naming the task).

``printf '%s' '42:91610112MA6TGQ1K2M' | sha256sum`` gives the draw key of that enterprise under
seed 42.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from schemas.classes import CLASSES, ClassName
from supervision.eligibility import Entry
from supervision.exceptions import DrawError
from supervision.inspectors import Inspector, qualified

__all__ = [
    "Draw",
    "Stratum",
    "Task",
    "draw",
    "draw_key",
    "exact_ratio",
    "inspector_key",
    "stratum_size",
]

_TWO_64 = 1 << 64


@dataclass(frozen=True, slots=True)
class Stratum:
    population: int
    ratio: float
    drawn: int


@dataclass(frozen=True, slots=True)
class Task:
    uscc: str
    klass: ClassName
    inspectors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Draw:
    """Per class (A-D, all four), and the tasks in draw order."""

    strata: Mapping[ClassName, Stratum]
    tasks: tuple[Task, ...]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def draw_key(seed: int, uscc: str) -> str:
    """The enterprise's place in the draw: ``SHA-256("<seed>:<uscc>")``, hex."""
    return _sha(f"{seed}:{uscc}")


def inspector_key(seed: int, uscc: str, inspector_id: str) -> str:
    """An inspector's place for a task among the equally loaded inspectors:
    ``SHA-256("<seed>:<uscc>:<id>")``, hex."""
    return _sha(f"{seed}:{uscc}:{inspector_id}")


def exact_ratio(ratio: float) -> Fraction:
    """The ratio as the decimal the preset wrote (0.115 is 115/1000, not the nearest double)."""
    return Fraction(repr(float(ratio)))


def stratum_size(population: int, ratio: float, seed: int, klass: str) -> int:
    """How many of a class of ``population`` are drawn at ``ratio`` (step 2 of the module)."""
    exact = population * exact_ratio(ratio)
    whole = exact.numerator // exact.denominator
    frac = exact - whole
    h = int(_sha(f"{seed}:{klass}")[:16], 16)
    return whole + (1 if Fraction(h, _TWO_64) < frac else 0)


def draw(
    snapshot: Sequence[Entry],
    ratios: Mapping[ClassName, float],
    pool: Sequence[Inspector],
    *,
    seed: int,
    per_task: int,
    domain: str = "",
    task_id: Callable[[str], str] = str,
) -> Draw:
    """Draw a plan from ``snapshot`` (the module's steps). Deterministic: the same arguments
    give the same draw. ``task_id(uscc)`` names a task in a :class:`DrawError` (raised when
    fewer than ``per_task`` inspectors are left for a task, before anything else happens)."""
    if per_task < 1:
        raise DrawError(f"per_task: at least 1 inspector per task, not {per_task}")
    strata: dict[ClassName, Stratum] = {}
    chosen: list[tuple[str, Entry]] = []
    for klass in CLASSES:
        members = sorted(
            ((draw_key(seed, e.uscc), e) for e in snapshot if e.klass == klass),
            key=lambda ke: (ke[0], ke[1].uscc),
        )
        ratio = float(ratios[klass])
        n = stratum_size(len(members), ratio, seed, klass)
        strata[klass] = Stratum(len(members), ratio, n)
        chosen.extend(members[:n])
    chosen.sort(key=lambda ke: (ke[0], ke[1].uscc))
    fit = qualified(pool, domain)
    load = {i.id: 0 for i in fit}
    tasks: list[Task] = []
    for _, e in chosen:
        avoid = set(e.avoid)
        free = [i.id for i in fit if i.id not in avoid]
        if len(free) < per_task:
            what = f"qualified for {domain}" if domain else "in the pool"
            raise DrawError(
                f"task {task_id(e.uscc)} ({e.uscc}, class {e.klass}) needs {per_task}"
                f" inspectors: {len(fit)} {what}, {len(fit) - len(free)} of them to avoid for"
                f" this enterprise, {len(free)} left; nothing was published"
            )
        free.sort(key=lambda i: (load[i], inspector_key(seed, e.uscc, i)))
        picked = tuple(free[:per_task])
        for i in picked:
            load[i] += 1
        tasks.append(Task(e.uscc, e.klass, picked))
    return Draw(strata, tuple(tasks))
