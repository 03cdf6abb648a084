"""The shape of the code, as the house style and issue 15 lay it out: a pure core with no I/O
imports, Kafka only where records are consumed or produced, an api/ without Faust, packages
that depend on each other in one declared direction and never in a circle, small modules, a
declared ``__all__`` in every package, test modules that share helpers only through
tests/support/, the class names defined once, and comments whose file references resolve.

Imports are read with ``ast``, so a module is checked without being imported (an import inside
a function counts too). Each check is a function that the parametrised test runs on the tree
and a ``bites`` test runs on a small bad example, to show it fails when it must.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.imports import (
    IMPURE,
    ROOT,
    Edge,
    Tree,
    cycles,
    imports_in,
    read_imports,
    top,
)
from tests.support.references import commented_files, tree_files, unresolved

TREE = Tree.read(ROOT)

KAFKA = frozenset({"faust", "mode", "aiokafka", "kafka", "confluent_kafka"})
FAUST = frozenset({"faust", "mode", "aiokafka"})

#: Which top-level packages each may import: lower never imports higher. tests may import
#: anything, and nothing imports tests.
ALLOWED: dict[str, frozenset[str]] = {
    "schemas": frozenset(),
    "security": frozenset(),
    "district": frozenset({"schemas"}),
    "scoring": frozenset({"schemas"}),
    "alerts": frozenset({"security", "scoring", "schemas"}),
    "supervision": frozenset({"security", "alerts", "scoring", "schemas"}),
    "api": frozenset({"security", "supervision", "alerts", "scoring", "schemas"}),
    "streams": frozenset({"api", "security", "supervision", "alerts", "scoring", "schemas"}),
    "jobs": frozenset({"streams", "security", "supervision", "alerts", "scoring", "schemas"}),
    "console": frozenset(
        {"jobs", "streams", "api", "security", "supervision", "alerts", "scoring", "schemas"}
    ),
    "local": frozenset(
        {
            "console",
            "jobs",
            "streams",
            "security",
            "supervision",
            "district",
            "scoring",
            "schemas",
        }
    ),
}
ALLOWED["cli"] = frozenset(ALLOWED)  # all of the above; benchmarks only from cli.bench
ALLOWED["benchmarks"] = frozenset(ALLOWED) - {"cli"}
#: Single modules allowed more than their package: ``riskmon bench`` hands its arguments to
#: the benchmark (from the module cli.bench, or a package of that name).
ALLOWED_MODULES: dict[str, frozenset[str]] = {"cli.bench": frozenset({"benchmarks"})}

PRODUCT = sorted(m for m in TREE.modules if top(m) != "tests")
TESTS = sorted(m for m in TREE.modules if top(m) == "tests")
MAX_LINES = 400
NOT_LINE_LIMITED = ("tests", "benchmarks")


def rel(path: Path) -> str:
    return TREE.rel(path)


def module_id(module: str) -> str:
    return rel(TREE.path(module))


# --- rooms: what a module may not import, by where it lives ---------------------------------


@dataclass(frozen=True)
class Room:
    """A rule on third-party (or first-party) imports for the modules ``holds`` picks."""

    name: str
    rule: str
    holds: Callable[[str], bool]  # on the path relative to the root, with "/"
    forbidden: frozenset[str]


def is_alert_delivery(path: str) -> bool:
    return path.startswith(("alerts/delivery.py", "alerts/delivery/"))


def is_pure(path: str) -> bool:
    """The pure core: scoring/ but its store, alerts/ but delivery and sinks, schemas/,
    district/. (The store is one module today and a package of its own soon: both are out.)"""
    if path.startswith(("scoring/store", "supervision/store")) or is_alert_delivery(path):
        return False
    if path.startswith("alerts/sinks"):
        return False
    return path.split("/", 1)[0] in ("scoring", "alerts", "schemas", "district", "supervision")


def may_use_kafka(path: str) -> bool:
    package = path.split("/", 1)[0]
    return package in ("streams", "jobs", "local", "cli", "benchmarks", "console") or (
        is_alert_delivery(path)
    )


ROOMS = (
    Room("pure", "the pure core imports no I/O", is_pure, frozenset(IMPURE)),
    Room(
        "kafka",
        "Kafka clients are only in streams/, jobs/, local/, cli/, benchmarks/ and alerts/delivery",
        lambda path: not may_use_kafka(path),
        KAFKA,
    ),
    Room("api", "api/ handlers import no Faust", lambda path: path.startswith("api/"), FAUST),
)


def forbidden_imports(source: str, package: str, forbidden: frozenset[str]) -> list[str]:
    found = {
        (i.line, i.module) for i in read_imports(source, package) if top(i.module) in forbidden
    }
    return [f"line {line}: {module}" for line, module in sorted(found)]


def room_problems(room: Room, module: str, tree: Tree = TREE) -> list[str]:
    path = tree.path(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    bad = forbidden_imports(path.read_text("utf-8"), package, room.forbidden)
    return [f"{tree.rel(path)} {b}: {room.rule}" for b in bad]


ROOM_CASES = [(room, m) for room in ROOMS for m in PRODUCT if room.holds(module_id(m))]


@pytest.mark.parametrize(
    ("room", "module"),
    [pytest.param(room, m, id=f"{room.name}:{module_id(m)}") for room, m in ROOM_CASES],
)
def test_no_module_imports_what_its_room_forbids(room: Room, module: str) -> None:
    problems = room_problems(room, module)
    assert not problems, "\n".join(problems)


def test_the_rooms_are_found() -> None:
    # Guard against a silent pass: the modules each room names are among those checked.
    checked = {(room.name, module_id(m)) for room, m in ROOM_CASES}
    for expected in ("scoring/fold.py", "scoring/model.py", "alerts/rules.py", "schemas/codec.py"):
        assert ("pure", expected) in checked
        assert ("kafka", expected) in checked
    assert any(room == "pure" and path.startswith("district/") for room, path in checked)
    assert not any(room == "pure" and path.startswith("scoring/store") for room, path in checked)
    assert not any(room == "kafka" and path.startswith("streams/") for room, path in checked)


def test_the_rooms_bite(tmp_path: Path) -> None:
    tree = fake_tree(
        tmp_path,
        {
            "scoring/fold.py": "import os\nfrom redis.asyncio import Redis\n",
            "scoring/store.py": "import redis\n",
            "scoring/store/keys.py": "import redis\n",
            "alerts/rules.py": "def f():\n    from aiokafka import AIOKafkaProducer\n",
            "alerts/delivery.py": "import confluent_kafka\nimport os\n",
            "api/handlers.py": "import faust\n",
            "api/lookup.py": "from mode import Service\n",
            "district/generator.py": "import time\n",
            "schemas/codec.py": "import kafka\n",
        },
    )
    found = {
        (room.name, m): room_problems(room, m, tree)
        for room in ROOMS
        for m in tree.modules
        if room.holds(tree.rel(tree.path(m)))
    }
    assert found[("pure", "scoring.fold")] == [
        "scoring/fold.py line 1: os: the pure core imports no I/O",
        "scoring/fold.py line 2: redis.asyncio: the pure core imports no I/O",
    ]
    assert ("pure", "scoring.store") not in found
    assert ("pure", "scoring.store.keys") not in found
    assert found[("pure", "alerts.rules")] and found[("kafka", "alerts.rules")]
    assert ("pure", "alerts.delivery") not in found and ("kafka", "alerts.delivery") not in found
    assert found[("api", "api.handlers")] == [
        "api/handlers.py line 1: faust: api/ handlers import no Faust"
    ]
    assert found[("api", "api.lookup")] and found[("kafka", "api.handlers")]
    assert found[("pure", "district.generator")] and found[("kafka", "schemas.codec")]


def test_the_import_reader_sees_what_it_must() -> None:
    # The checks are only as good as ``imports_in``; show it catches every form.
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


def test_the_import_reader_tells_type_checking_imports_apart() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import typing\n"
        "if TYPE_CHECKING:\n"
        "    from streams.app import Runtime\n"
        "else:\n"
        "    import scoring.fold\n"
        "if typing.TYPE_CHECKING:\n"
        "    import alerts.rules\n"
    )
    typing_only = {i.module: i.type_checking for i in read_imports(source, "jobs")}
    assert typing_only["streams.app"] and typing_only["alerts.rules"]
    assert not typing_only["scoring.fold"] and not typing_only["typing"]


# --- the direction between top-level packages -------------------------------------------------


def direction_problems(
    module: str,
    tree: Tree = TREE,
    allowed: Mapping[str, frozenset[str]] = ALLOWED,
    allowed_modules: Mapping[str, frozenset[str]] = ALLOWED_MODULES,
) -> list[str]:
    own = top(module)
    grant = set(allowed.get(own, frozenset()))
    for name, extra in allowed_modules.items():
        if module == name or module.startswith(name + "."):
            grant |= extra
    problems = []
    for e in tree.edges_from(module):
        other = top(e.dst)
        if other != own and other not in grant:
            problems.append(
                f"{e.where(tree.root)}: {own} imports {other} ({e.dst}),"
                " which the layout does not allow"
            )
    return problems


@pytest.mark.parametrize("module", PRODUCT, ids=module_id)
def test_a_package_imports_only_the_packages_below_it(module: str) -> None:
    problems = direction_problems(module)
    assert not problems, "\n".join(problems)


def test_every_package_has_a_place_in_the_layout() -> None:
    unplaced = sorted(set(TREE.packages) - set(ALLOWED) - {"tests"})
    assert unplaced == [], f"add {unplaced} to ALLOWED: which packages may each import?"


def test_the_declared_direction_is_an_order() -> None:
    # The table itself must have no circle, or "lower never imports higher" means nothing.
    fake = Path("ALLOWED")
    edges = [Edge(a, b, fake, 0, False) for a, bs in ALLOWED.items() for b in bs]
    edges += [Edge(m, b, fake, 0, False) for m, bs in ALLOWED_MODULES.items() for b in bs]
    assert cycles(edges, "") == []


def test_the_direction_bites(tmp_path: Path) -> None:
    tree = fake_tree(
        tmp_path,
        {
            "scoring/fold.py": "from streams.settings import Settings\n",
            "schemas/codec.py": "import scoring.model\n",
            "streams/settings.py": "",
            "scoring/model.py": "",
            "cli/main.py": "def f():\n    from benchmarks.bench import main\n",
            "cli/bench.py": "from benchmarks.bench import main\n",
            "benchmarks/bench.py": "from cli.main import f\n",
            "api/lookup.py": "from streams import settings\n",
        },
    )
    assert direction_problems("scoring.fold", tree) == [
        "scoring/fold.py:1: scoring imports streams (streams.settings),"
        " which the layout does not allow"
    ]
    assert direction_problems("schemas.codec", tree)
    assert direction_problems("cli.main", tree) == [
        "cli/main.py:2: cli imports benchmarks (benchmarks.bench), which the layout does not allow"
    ]
    assert direction_problems("cli.bench", tree) == []
    assert direction_problems("benchmarks.bench", tree)
    assert direction_problems("api.lookup", tree)


# --- no cycles, between top-level packages or inside one --------------------------------------


def packages_of(tree: Tree) -> list[str]:
    """The top level (``""``) and every package and subpackage, by name."""
    names = {""}
    for m in tree.modules:
        parts = m.split(".")
        names |= {".".join(parts[:n]) for n in range(1, len(parts))}
        if tree.path(m).name == "__init__.py":
            names.add(m)
    return sorted(names)


def cycle_problems(package: str, tree: Tree = TREE) -> list[str]:
    return [c.describe(tree.root) for c in cycles(tree.edges, package)]


@pytest.mark.parametrize("package", packages_of(TREE), ids=lambda p: p or "top-level")
def test_no_import_cycle(package: str) -> None:
    problems = cycle_problems(package)
    assert not problems, "\n".join(problems)


def test_the_cycle_check_bites(tmp_path: Path) -> None:
    tree = fake_tree(
        tmp_path,
        {
            # between top-level packages, through an import inside a function
            "scoring/fold.py": "import alerts.rules\n",
            "alerts/rules.py": "def f():\n    from scoring import fold\n",
            # between subpackages and modules of one package, over three steps
            "streams/app.py": "from streams.handler import plan\n",
            "streams/handler.py": "from .planning.calls import x\n",
            "streams/planning/__init__.py": "",
            "streams/planning/calls.py": "from streams import app\n",
            # a package's __init__ and one of its modules
            "jobs/__init__.py": "from jobs.replay import replay\n",
            "jobs/replay.py": "from jobs import DEFAULTS\n",
            # type-only: never runs, no cycle
            "local/a.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import local.b\n"
            ),
            "local/b.py": "import local.a\n",
            # third-party names that look like ours are not ours
            "district/generator.py": "import os\nfrom pydantic import scoring\n",
        },
    )
    assert cycle_problems("", tree) == [
        "a cycle between top-level packages: alerts -> scoring -> alerts"
        " (alerts/rules.py:2 imports scoring.fold; scoring/fold.py:1 imports alerts.rules)"
    ]
    assert cycle_problems("streams", tree) == [
        "a cycle in streams: app -> handler -> planning -> app (streams/app.py:1 imports"
        " streams.handler; streams/handler.py:1 imports streams.planning.calls;"
        " streams/planning/calls.py:1 imports streams.app)"
    ]
    assert cycle_problems("jobs", tree) == [
        "a cycle in jobs: __init__ -> replay -> __init__ (jobs/__init__.py:1 imports"
        " jobs.replay; jobs/replay.py:1 imports jobs)"
    ]
    assert cycle_problems("local", tree) == []
    assert cycle_problems("district", tree) == []
    assert "streams.planning" in packages_of(tree)


# --- size, __all__ ------------------------------------------------------------------------


def too_long(path: Path, shown: str) -> str | None:
    n = len(path.read_text("utf-8").splitlines())
    return f"{shown} has {n} lines, over {MAX_LINES}: split it by role" if n > MAX_LINES else None


@pytest.mark.parametrize(
    "module",
    [m for m in PRODUCT if top(m) not in NOT_LINE_LIMITED],
    ids=module_id,
)
def test_no_module_is_over_400_lines(module: str) -> None:
    problem = too_long(TREE.path(module), module_id(module))
    assert problem is None, problem


def test_the_line_limit_bites(tmp_path: Path) -> None:
    at_limit, over = tmp_path / "store.py", tmp_path / "app.py"
    at_limit.write_text("x = 1\n" * MAX_LINES)
    over.write_text("x = 1\n" * (MAX_LINES + 1))
    assert too_long(at_limit, "scoring/store.py") is None
    assert (
        too_long(over, "streams/app.py")
        == "streams/app.py has 401 lines, over 400: split it by role"
    )


def inits() -> list[Path]:
    return sorted(TREE.path(m) for m in PRODUCT if TREE.path(m).name == "__init__.py")


def declares_all(source: str) -> bool:
    return any(
        isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
        for node in ast.parse(source).body
    )


def test_every_package_is_checked_for_all() -> None:
    found = {rel(p) for p in inits()}
    for package in set(ALLOWED) & set(TREE.packages):
        assert f"{package}/__init__.py" in found


@pytest.mark.parametrize("init", inits(), ids=rel)
def test_every_package_declares_all(init: Path) -> None:
    assert declares_all(init.read_text("utf-8")), f"{rel(init)} has no __all__"


def test_the_all_check_bites() -> None:
    assert not declares_all('"""A package."""\nfrom scoring.fold import fold\n')
    assert not declares_all("def f():\n    __all__ = ['x']\n")
    assert declares_all("__all__: list[str] = []\n")


@pytest.mark.parametrize("init", inits(), ids=rel)
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


# --- tests: shared helpers only through tests/support, unit tests mirror packages -------------


def cross_test_imports(module: str, tree: Tree = TREE) -> list[str]:
    return [
        f"{e.where(tree.root)}: imports the test module {e.dst}; share it through tests/support/"
        for e in tree.edges_from(module)
        if top(e.dst) == "tests" and not e.dst.startswith("tests.support.")
    ]


@pytest.mark.parametrize("module", TESTS, ids=module_id)
def test_no_test_module_imports_another(module: str) -> None:
    problems = cross_test_imports(module)
    assert not problems, "\n".join(problems)


def test_the_test_import_check_bites(tmp_path: Path) -> None:
    tree = fake_tree(
        tmp_path,
        {
            "tests/unit/test_fold.py": "def histories(): ...\n",
            "tests/integration/test_store.py": "from tests.unit.test_fold import histories\n",
            "tests/e2e/test_crash.py": "from ..faults import test_crash_commit\n",
            "tests/faults/test_crash_commit.py": "",
            "tests/support/harness.py": "",
            "tests/faults/test_ok.py": "from tests.support.harness import Worker\n",
        },
    )
    assert cross_test_imports("tests.integration.test_store", tree) == [
        "tests/integration/test_store.py:1: imports the test module tests.unit.test_fold;"
        " share it through tests/support/"
    ]
    assert cross_test_imports("tests.e2e.test_crash", tree)
    assert cross_test_imports("tests.faults.test_ok", tree) == []


def unmirrored(unit: Path, packages: Sequence[str]) -> list[str]:
    return sorted(
        f"tests/unit/{d.name}/ names no package (nor deploy/)"
        for d in unit.iterdir()
        if d.is_dir() and d.name != "__pycache__" and d.name not in {*packages, "deploy"}
    )


def test_unit_tests_mirror_the_packages() -> None:
    problems = unmirrored(ROOT / "tests" / "unit", [p for p in TREE.packages if p != "tests"])
    assert not problems, "\n".join(problems)


def test_the_mirror_check_bites(tmp_path: Path) -> None:
    for d in ("scoring", "deploy", "store", "__pycache__"):
        (tmp_path / d).mkdir()
    assert unmirrored(tmp_path, ["scoring"]) == ["tests/unit/store/ names no package (nor deploy/)"]


# --- the class names, defined once -----------------------------------------------------------

CLASSES_HOME = "schemas/classes.py"
CLASS_NAMES = ("A", "B", "C", "D")
CLASS_SEQUENCES = {CLASS_NAMES, ("", *CLASS_NAMES)}


def _strings(nodes: Sequence[ast.expr]) -> tuple[str, ...] | None:
    values = [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return tuple(values) if len(values) == len(nodes) else None


def class_name_definitions(source: str) -> list[str]:
    """Where ``source`` spells out the class names: a tuple, list or set of exactly A-D (with
    or without a leading ""), a ``Literal`` of them, the string "ABCD", or an enum whose
    members are exactly A, B, C, D."""
    tree = ast.parse(source)
    found: set[tuple[int, str]] = set()
    in_literal: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and (
            (isinstance(node.value, ast.Name) and node.value.id == "Literal")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "Literal")
        ):
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            in_literal.add(id(node.slice))
            if _strings(elts) in CLASS_SEQUENCES:
                found.add((node.lineno, "a Literal of the class names"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and id(node) not in in_literal:
            values = _strings(node.elts)
            if values is None:
                continue
            ordered = tuple(sorted(values)) if isinstance(node, ast.Set) else values
            if ordered in CLASS_SEQUENCES:
                kind = type(node).__name__.lower()
                found.add((node.lineno, f"a {kind} of the class names"))
        elif isinstance(node, ast.Constant) and node.value in ("ABCD", " ABCD"):
            found.add((node.lineno, "the class names as a string"))
        elif isinstance(node, ast.ClassDef):
            members = [
                t.id
                for stmt in node.body
                if isinstance(stmt, ast.Assign)
                for t in stmt.targets
                if isinstance(t, ast.Name)
            ]
            if tuple(members) == CLASS_NAMES:
                found.add((node.lineno, f"class {node.name}: an enum of the class names"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


@pytest.mark.parametrize(
    "module", [m for m in PRODUCT if module_id(m) != CLASSES_HOME], ids=module_id
)
def test_the_class_names_are_defined_only_in_schemas_classes(module: str) -> None:
    found = class_name_definitions(TREE.path(module).read_text("utf-8"))
    assert not found, "\n".join(
        f"{module_id(module)} {f}: import the class names from schemas.classes" for f in found
    )


def test_the_class_name_check_bites() -> None:
    source = (
        'CLASS_NAMES = ("", "A", "B", "C", "D")\n'
        'CLASSES: Final = ["A", "B", "C", "D"]\n'
        'ClassName = Literal["A", "B", "C", "D"]\n'
        'GRADES = {"D", "C", "B", "A"}\n'
        'names = " ABCD"\n'
        "class RiskClass(IntEnum):\n"
        "    A = 1\n"
        "    B = 2\n"
        "    C = 3\n"
        "    D = 4\n"
        'OTHER = ("A", "B", "C")\n'
        'ALPHABET = "0123456789ABCDEFGH"\n'
        "Order = Literal[CLASS_NAMES]\n"
    )
    assert class_name_definitions(source) == [
        "line 1: a tuple of the class names",
        "line 2: a list of the class names",
        "line 3: a Literal of the class names",
        "line 4: a set of the class names",
        "line 5: the class names as a string",
        "line 6: class RiskClass: an enum of the class names",
    ]


# --- references in comments and docstrings -------------------------------------------------

FILE_NAMES = {p.name for p in tree_files(ROOT)}


@pytest.mark.parametrize("path", commented_files(ROOT), ids=rel)
def test_every_file_a_comment_names_is_in_the_tree(path: Path) -> None:
    bad = unresolved(path, ROOT, FILE_NAMES)
    assert not bad, "\n".join(f"{rel(path)} {b}: no such file in the tree" for b in bad)


def test_the_reference_check_bites(tmp_path: Path) -> None:
    tree = {
        "docs/style.md": "",
        "scoring/__init__.py": "",
        "scoring/fold.py": "",
        "scoring/lua/apply.lua": (
            "-- the specification is scoring/fold.py; see docs/style.md and DOMAIN.md\n"
            "local x = 1 -- as in fold.py, not in scoring/store/keys.py\n"
        ),
        "scoring/store.py": (
            '"""The store (docs/architecture.md).\n\nRules in STYLE.md, the script in'
            ' lua/apply.lua."""\n'
            "# see https://redis.io/docs/x.md and ~/.riskmon/run.json and path/to/apply.lua\n"
            'HELP = "see NOTES.md"  # a string, not a comment: not read\n'
            "# gone.py and scoring/gone.lua\n"
        ),
        "deploy/x.service": "# Documentation: deploy/README.md\n",
    }
    fake_tree(tmp_path, tree)
    names = {p.name for p in tree_files(tmp_path)}
    assert unresolved(tmp_path / "scoring/lua/apply.lua", tmp_path, names) == [
        "line 1: DOMAIN.md",
        "line 2: scoring/store/keys.py",
    ]
    assert unresolved(tmp_path / "scoring/store.py", tmp_path, names) == [
        "line 1: docs/architecture.md",
        "line 3: STYLE.md",
        "line 6: gone.py",
        "line 6: scoring/gone.lua",
    ]
    assert unresolved(tmp_path / "deploy/x.service", tmp_path, names) == [
        "line 1: deploy/README.md"
    ]


# --- the synthetic trees the bites tests run on ----------------------------------------------


def fake_tree(root: Path, files: Mapping[str, str]) -> Tree:
    """Write ``files`` under ``root`` (each top-level folder gets an ``__init__.py``, as a
    package of ours has) and read it as the layout tests read the repository."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        if len(Path(name).parts) > 1:
            init = root / Path(name).parts[0] / "__init__.py"
            if not init.exists() and Path(name).parts[0] not in ("docs", "deploy"):
                init.write_text("", "utf-8")
    return Tree.read(root)
