"""References to files of the repository in comments and docstrings (a Markdown file, a path
such as ``scoring/store/apply.lua``, a bare module file name), found with ``tokenize``/``ast``
for Python and by the comment marker elsewhere, and whether each resolves to a file in the
tree. A placeholder under ``path/to/`` is not a reference."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = [
    "comment_marker",
    "commented_files",
    "comments",
    "references",
    "tree_files",
    "unresolved",
]

_EXT = r"(?:py|lua|toml|md|jsonl|json|yml|yaml|csv|service|txt|sh|cfg|ini)"
# A path with at least one folder (``scoring/store/apply.lua``, ``.ci/run`` has no suffix and is
# not taken), not a part of a URL, an absolute path or ``~/...``.
_WITH_FOLDER = re.compile(
    r"(?<![\w/.~:@$<-])((?:\.?[A-Za-z_][\w.-]*/)+[A-Za-z_][\w.-]*\." + _EXT + r")(?![\w/])"
)
# A bare file name; ``.md`` ones must be in the same folder or at the root, the others may be
# anywhere in the tree (``fold.py`` in a comment of ``scoring/`` names ``scoring/fold.py``).
_BARE = re.compile(r"(?<![\w/.~:@$<-])([A-Za-z_][\w.-]*\.(?:md|py|lua|toml))(?![\w/])")

_HASH_COMMENTED = {".toml", ".yml", ".yaml", ".service", ".sh", ".cfg", ".ini"}
_SCANNED_DIRS = {"deploy", "docs", "examples", ".ci"}
_SKIPPED = {"__pycache__", "node_modules"}


def references(text: str) -> list[str]:
    """File references in ``text``, in order."""
    found = [(m.start(), m.group(1)) for m in _WITH_FOLDER.finditer(text)]
    found += [(m.start(), m.group(1)) for m in _BARE.finditer(text)]
    return [ref for _, ref in sorted(found)]


def comment_marker(path: Path) -> str | None:
    """How comments start in ``path``: ``#`` in Python, TOML, YAML, systemd units and shell
    scripts (a file without suffix that starts with ``#!``), ``--`` in Lua; ``None`` for a
    file without comments (Markdown, JSON, data)."""
    if path.suffix == ".py" or path.suffix in _HASH_COMMENTED:
        return "#"
    if path.suffix == ".lua":
        return "--"
    if not path.suffix:
        with path.open("rb") as f:
            return "#" if f.read(2) == b"#!" else None
    return None


def comments(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of each comment and docstring line of ``path`` (see :func:`comment_marker`;
    Python's docstrings are read with ``ast`` and its comments with ``tokenize``)."""
    marker = comment_marker(path)
    if marker is None:
        return
    text = path.read_text("utf-8")
    if path.suffix == ".py":
        yield from sorted(_python_comments(text))
        return
    for n, line in enumerate(text.splitlines(), 1):
        if marker in line:
            yield n, line.split(marker, 1)[1]


def _python_comments(text: str) -> Iterator[tuple[int, str]]:
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                first = body[0].lineno
                for n, line in enumerate(body[0].value.value.splitlines()):
                    yield first + n, line


def tree_files(root: Path) -> list[Path]:
    """The repository's files: every file of a top-level package (a folder with
    ``__init__.py``), of deploy/, docs/, examples/ and .ci/, and the files at the root."""
    out: list[Path] = []
    for entry in sorted(root.iterdir()):
        if entry.is_file():
            out.append(entry)
        elif entry.is_dir() and (entry.name in _SCANNED_DIRS or (entry / "__init__.py").is_file()):
            out += sorted(
                p
                for p in entry.rglob("*")
                if p.is_file() and _SKIPPED.isdisjoint(p.relative_to(root).parts)
            )
    return out


def commented_files(root: Path) -> list[Path]:
    """The files of :func:`tree_files` that have comments to check."""
    return [p for p in tree_files(root) if comment_marker(p) is not None]


def unresolved(path: Path, root: Path, names: Iterable[str] | None = None) -> list[str]:
    """``line N: ref`` for each reference in ``path``'s comments that names no file.

    A path with folders resolves against the root or any folder between it and ``path``; a
    bare Markdown file name against ``path``'s folder or the root (a document elsewhere is
    named by its path); another bare name (``fold.py``) against ``names``, the names of the
    files in the tree (default: those of :func:`tree_files`)."""
    known = set(names) if names is not None else {p.name for p in tree_files(root)}
    placeholder = "path/to/"
    bases = [path.parent, *path.parent.parents]
    bases = bases[: bases.index(root) + 1] if root in bases else [root]
    bad = []
    for line, text in comments(path):
        for ref in references(text):
            if ref.startswith(placeholder):
                continue
            if "/" in ref:
                ok = any((base / ref).exists() for base in bases)
            elif ref.endswith(".md"):
                ok = (path.parent / ref).is_file() or (root / ref).is_file()
            else:
                ok = ref in known
            if not ok:
                bad.append(f"line {line}: {ref}")
    return bad
