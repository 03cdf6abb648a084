"""Reading a TOML file a pydantic model validates (the scoring model, the supervision
configuration, a plan's preset): one message shape for every bad file, naming the file and
each invalid field (``tiers.0.points: Input should be greater than 0``)."""

from __future__ import annotations

import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["field_path", "load_validated"]

M = TypeVar("M", bound=BaseModel)


def field_path(exc: ValidationError) -> str:
    """Each error of ``exc`` as ``<dotted field>: <message>``, joined by ``; ``."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def load_validated(
    model: type[M],
    path: str | Path | None,
    default: Traversable,
    *,
    what: str,
    default_name: str,
    error: type[Exception],
) -> M:
    """``model`` validated from the TOML file at ``path`` (None: the packaged ``default``, shown
    as ``<default_name>``). Raises ``error`` with ``<what> <file>: ...`` and the reason."""
    doc: Any
    try:
        if path is None:
            text, where = default.read_text("utf-8"), f"<{default_name}>"
        else:
            text, where = Path(path).read_text("utf-8"), str(path)
        doc = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {where}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise error(f"{what} {where}: {field_path(exc)}") from exc
