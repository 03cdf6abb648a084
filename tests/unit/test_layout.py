"""The shape of the code (STYLE.md §1, §3): a pure core with no I/O imports, Kafka only in
``streams/``, and a declared ``__all__`` in every package. Imports are read with ``ast``, so a
module is checked without being imported (and an import inside a function counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.imports import IMPURE, ROOT, imported, imports_in, top

PACKAGES = ("streams", "scoring", "alerts", "schemas")

KAFKA = {"faust", "kafka", "aiokafka", "confluent_kafka", "mode"}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def is_sink(path: Path) -> bool:
    rel = path.relative_to(ROOT / "alerts")
    return rel.parts[0] in ("sinks", "sinks.py")


def pure_modules() -> list[Path]:
    out = [p for p in modules("scoring") if "store" not in p.relative_to(ROOT).parts]
    out += [p for p in modules("alerts") if not is_sink(p)]
    out += modules("schemas")
    return out


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_pure_core_is_found() -> None:
    # Guard against a silent pass: the modules named in STYLE.md §1 are among those checked.
    names = {rel(p) for p in pure_modules()}
    expected = {
        "scoring/changes.py",
        "scoring/fold.py",
        "scoring/model.py",
        "alerts/rules.py",
        "schemas/codec.py",
        "schemas/events.py",
    }
    assert expected <= names
    assert "scoring/store.py" not in names


@pytest.mark.parametrize("path", pure_modules(), ids=rel)
def test_the_pure_core_imports_no_io(path: Path) -> None:
    bad = sorted({f"line {line}: {mod}" for line, mod in imported(path) if top(mod) in IMPURE})
    assert bad == [], f"{rel(path)} imports I/O"


@pytest.mark.parametrize(
    "path",
    [p for pkg in PACKAGES if pkg != "streams" for p in modules(pkg)],
    ids=rel,
)
def test_only_streams_imports_kafka(path: Path) -> None:
    bad = sorted({f"line {line}: {mod}" for line, mod in imported(path) if top(mod) in KAFKA})
    assert bad == [], f"{rel(path)} imports Kafka/Faust outside streams/"


def test_the_import_reader_sees_what_it_must() -> None:
    # The checks above are only as good as ``imports_in``; show it catches every form.
    source = (
        "import os.path\n"
        "from time import monotonic\n"
        "def f():\n"
        "    import redis.asyncio as r\n"
        "    from . import store\n"
        "    from ..streams import app\n"
        "    importlib.import_module('kafka')\n"
        "    __import__('socket')\n"
    )
    found = {mod for _, mod in imports_in(source, "scoring.sub")}
    assert {"os.path", "time", "redis.asyncio", "scoring.sub.store", "scoring.streams.app"} <= found
    assert {"kafka", "socket"} <= found


def packages() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py"))


def marked(known: dict[str, pytest.MarkDecorator]) -> list[object]:
    return [pytest.param(p, id=rel(p), marks=known.get(rel(p), ())) for p in packages()]


@pytest.mark.parametrize(
    "init",
    marked({}),
)
def test_every_package_declares_all(init: Path) -> None:
    tree = ast.parse(init.read_text("utf-8"))
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert declared, f"{rel(init)} has no __all__"


@pytest.mark.parametrize(
    "init",
    marked({}),
)
def test_every_name_in_a_package_all_exists(init: Path) -> None:
    # `from scoring import *` must not fail: each name is a submodule or defined in __init__.
    tree = ast.parse(init.read_text("utf-8"))
    names: list[str] = []
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names = list(ast.literal_eval(node.value))
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom | ast.Import):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
    here = init.parent
    missing = [
        n
        for n in names
        if n not in defined
        and not (here / f"{n}.py").is_file()
        and not (here / n / "__init__.py").is_file()
    ]
    assert missing == [], f"{rel(init)} lists {missing} in __all__ but they do not exist"
