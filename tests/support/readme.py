"""Reading what a Markdown document (the README) claims: the ``riskmon`` commands in its ``sh``
blocks and in backquotes, the ``RISKMON_*`` variables and the configuration table, the paths it
names in backquotes, and its sample outputs. Pure text in, plain data out: the README test
holds each claim against the code."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "Block",
    "Command",
    "blocks",
    "commands",
    "config_rows",
    "spans",
    "variables",
]

SHELL = {"sh", "bash", "shell", "console"}

_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
_VARIABLE = re.compile(r"\bRISKMON_[A-Z0-9_]+")
_ROW = re.compile(r"^\|\s*`(RISKMON_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|")


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced code block: its language tag (``""`` when none), the line of its first line
    of content, and that content."""

    lang: str
    line: int
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Command:
    """A ``riskmon`` command line as the document writes it (``.venv/bin/riskmon``,
    ``python -m cli`` count too). ``args`` follow the program; ``env`` are ``VAR=value``
    before it; ``section`` counts the headings before it. A span of bare flags
    (``--riskiest``) is a command too, with no subcommand: its flags belong to one of the
    commands of its section."""

    line: int
    text: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    section: int = 0

    @property
    def subcommand(self) -> str | None:
        return self.args[0] if self.args and not self.args[0].startswith("-") else None

    @property
    def flags(self) -> list[str]:
        return [a.split("=", 1)[0] for a in self.args if a.startswith("-") and a not in ("-", "--")]

    def values(self) -> list[str]:
        """Arguments that are not flags (the subcommand excluded), and ``--flag=value`` values."""
        out = [a for a in self.args[1 if self.subcommand else 0 :] if not a.startswith("-")]
        out += [a.split("=", 1)[1] for a in self.args if a.startswith("--") and "=" in a]
        return out

    def value_of(self, flag: str) -> str | None:
        for a, b in zip(self.args, self.args[1:], strict=False):
            if a == flag and not b.startswith("-"):
                return b
        return None


def blocks(text: str) -> list[Block]:
    out: list[Block] = []
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        m = _FENCE.match(lines[n])
        if not m:
            n += 1
            continue
        fence, lang, start = m.group(1), m.group(2), n + 1
        n += 1
        while n < len(lines) and not lines[n].lstrip().startswith(fence):
            n += 1
        out.append(Block(lang, start + 1, tuple(lines[start:n])))
        n += 1
    return out


def _prose(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line outside fenced blocks."""
    fence: str | None = None
    for n, line in enumerate(text.splitlines(), 1):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.lstrip().startswith(fence):
            fence = None
        elif fence is None:
            yield n, line


def spans(text: str) -> list[tuple[int, str]]:
    """(line, content) of every backquoted span outside fenced blocks."""
    return [(n, m.group(1)) for n, line in _prose(text) for m in _SPAN.finditer(line)]


def _words(text: str) -> list[str]:
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        words = text.split()
    # a usage line's optional parts and choices: [--seed 0] [--load 0.5 | --rate N] ...
    stripped = (w.strip("[]") for w in words)
    return [w for w in stripped if w and w not in ("|", "...", "…")]


def _shell_commands(line: str) -> Iterator[list[str]]:
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        tokens = list(lex)
    except ValueError:
        tokens = line.split()
    current: list[str] = []
    for token in tokens:
        if token and set(token) <= set("&|;()"):
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _split_env(words: list[str]) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    n = 0
    while n < len(words) and _ASSIGNMENT.match(words[n]):
        n += 1
    env = tuple((w.split("=", 1)[0], w.split("=", 1)[1]) for w in words[:n])
    return env, words[n:]


def _riskmon_args(words: list[str]) -> tuple[str, ...] | None:
    """The arguments after the program if ``words`` run riskmon, else ``None``."""
    if words and (words[0] == "riskmon" or words[0].endswith("/riskmon")):
        return tuple(words[1:])
    if (
        len(words) >= 3
        and words[0].rsplit("/", 1)[-1].startswith("python")
        and words[1:3]
        == [
            "-m",
            "cli",
        ]
    ):
        return tuple(words[3:])
    return None


def commands(text: str) -> list[Command]:
    """Every riskmon command of ``text``: in shell blocks (``VAR=value`` prefixes, ``&&``,
    ``#`` comments and ``\\`` continuations understood) and in backquoted spans, and every span
    of bare flags (``--riskiest``, ``--model FILE``)."""
    found: list[Command] = []
    section = 0
    fence: str | None = None
    block: list[tuple[int, str]] = []
    shell = False
    for n, line in enumerate(text.splitlines(), 1):
        m = _FENCE.match(line)
        if fence is None and m:
            fence, shell, block = m.group(1), m.group(2) in SHELL, []
            continue
        if fence is not None:
            if not line.lstrip().startswith(fence):
                block.append((n, line))
                continue
            fence = None
            if shell:
                for start, logical in _logical_lines(block):
                    for words in _shell_commands(logical):
                        env, rest = _split_env(words)
                        args = _riskmon_args(rest)
                        if args is not None:
                            found.append(Command(start, " ".join(words), args, env, section))
            continue
        if line.startswith("#"):
            section += 1
            continue
        for m in _SPAN.finditer(line):
            env, rest = _split_env(_words(m.group(1)))
            args = _riskmon_args(rest)
            if args:
                found.append(Command(n, m.group(1), args, env, section))
            elif rest and rest[0].startswith("-") and not env:
                found.append(Command(n, m.group(1), tuple(rest), (), section))
    return found


def _logical_lines(block: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    start, parts = 0, list[str]()
    for n, line in block:
        text = line.strip()
        if text.startswith("$ "):
            text = text[2:]
        if not parts:
            start = n
        if text.endswith("\\"):
            parts.append(text[:-1])
            continue
        parts.append(text)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def variables(text: str) -> dict[str, str | None]:
    """Every ``RISKMON_*`` name in ``text``, with the value it is shown set to (``NAME=value``),
    if any."""
    out: dict[str, str | None] = {}
    for m in _VARIABLE.finditer(text):
        name = m.group(0)
        rest = text[m.end() :]
        value = re.match(r"=([^\s`'\")]+)", rest)
        if value or name not in out:
            out[name] = value.group(1) if value else out.get(name)
    return out


def config_rows(text: str) -> dict[str, tuple[int, str]]:
    """The configuration table: variable -> (line, default as written)."""
    out: dict[str, tuple[int, str]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _ROW.match(line)
        if m:
            out[m.group(1)] = (n, m.group(2))
    return out
