"""Spot-check presets (pure but for reading the file): how hard each class is checked.

A preset is a TOML file; four ship with riskmon (:data:`PRESET_NAMES`, in
``supervision/presets/``) and any file of the same shape works too::

    name = "henan-2021"
    description = "…"
    source = "where the numbers come from"
    exclude_days = 180        # inspected within this many days before the plan: not drawn
    domain = ""               # the key domain the plan is for ("": none, any inspector)
    new_economy_only = false  # draw only new-economy (三新) enterprises

    [classes.A]
    ratio = 0.01              # the share of the stratum drawn (0..1, exact as written)
    max_per_year = 1          # frequency limit: inspected this often in the last 365 days
                              # rules it out (absent: no limit, "as needed")
    exclude_days = 730        # optional: this class's own recent-inspection window

Every class A-D must be there. :func:`load_preset` raises :class:`PresetError` naming the
file and the field (``classes.B.ratio: …``).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.classes import CLASSES, ClassName
from schemas.toml_files import field_path
from supervision.exceptions import PresetError

__all__ = ["PRESET_NAMES", "ClassRule", "Preset", "load_preset", "preset_from_content"]

#: The presets riskmon ships, by name (``supervision/presets/<name>.toml``).
PRESET_NAMES = ("henan-2021", "yancheng-2022", "lindian-2024", "bayannur-2022")

_STRICT = ConfigDict(frozen=True, extra="forbid")
Days = Annotated[int, Field(ge=0, le=36_500)]


class ClassRule(BaseModel):
    """How one class is checked: its ratio and its frequency limit."""

    model_config = _STRICT
    ratio: Annotated[float, Field(ge=0.0, le=1.0)]
    #: An enterprise inspected this many times or more in the 365 days before the plan is not
    #: drawn (None: no limit).
    max_per_year: Annotated[int, Field(ge=1, le=366)] | None = None
    #: This class's own recent-inspection window (None: the preset's ``exclude_days``).
    exclude_days: Days | None = None


class Preset(BaseModel):
    model_config = _STRICT
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    description: str = ""
    source: Annotated[str, Field(min_length=1)]
    exclude_days: Days
    domain: Annotated[str, Field(max_length=64)] = ""
    new_economy_only: bool = False
    classes: dict[ClassName, ClassRule]

    @model_validator(mode="after")
    def _every_class(self) -> Preset:
        missing = [c for c in CLASSES if c not in self.classes]
        if missing:
            raise ValueError(
                f"classes: missing {', '.join(missing)} (every class A-D needs a rule)"
            )
        return self

    def window_days(self, klass: ClassName) -> int:
        """Days since the last inspection within which an enterprise of ``klass`` is not drawn."""
        own = self.classes[klass].exclude_days
        return self.exclude_days if own is None else own

    def content(self) -> dict[str, Any]:
        """The preset as plain JSON data (classes in order A-D): what a plan records."""
        doc = self.model_dump(mode="json")
        doc["classes"] = {c: doc["classes"][c] for c in CLASSES}
        return doc


def preset_from_content(doc: Any, where: str = "preset") -> Preset:
    """A preset from parsed data (a TOML document, or the ``preset_content`` a plan recorded).
    Raises :class:`PresetError` naming ``where`` and the field."""
    try:
        return Preset.model_validate(doc)
    except ValidationError as exc:
        raise PresetError(f"{where}: {field_path(exc)}") from None


def load_preset(name_or_path: str | Path) -> Preset:
    """A shipped preset by name (:data:`PRESET_NAMES`), else the TOML file at the path.
    Raises :class:`PresetError` naming the preset and, for an invalid one, the field."""
    text_name = str(name_or_path)
    try:
        if text_name in PRESET_NAMES:
            where = f"preset {text_name}"
            ref = resources.files("supervision").joinpath("presets", f"{text_name}.toml")
            text = ref.read_text("utf-8")
        else:
            where = f"preset {text_name}"
            path = Path(name_or_path)
            if not path.exists() and path.suffix != ".toml":
                raise PresetError(
                    f"no preset {text_name!r}: name one of {', '.join(PRESET_NAMES)}"
                    " or give a TOML file"
                )
            text = path.read_text("utf-8")
        doc = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{where}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{where}: not valid TOML: {exc}") from None
    return preset_from_content(doc, where)
