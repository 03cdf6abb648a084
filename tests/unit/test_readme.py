"""The README says what is so: every ``riskmon`` command it shows exists and takes the flags it
is shown with (asked of ``python -m cli <command> --help``, the CLI's stable face), every
``RISKMON_*`` it names is a setting and every setting is in its configuration table with its
real default, every path it names is in the tree, the story's ``riskmon lookup`` output is what
the fold computes, and the fault scenarios it counts in the fast set exist and are fast.

One test reads the whole README and reports every problem at once; the others feed each check
a small bad document to show it catches what it must.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.codec import decode_event
from scoring.changes import change_for
from scoring.explain import explain
from scoring.fold import Params, fold
from scoring.model import load_model
from streams.settings import Settings, unknown_variables
from tests.support.imports import ROOT
from tests.support.readme import SHELL, Command, blocks, commands, config_rows, spans, variables
from tests.support.references import tree_files

README = ROOT / "README.md"
STORY = ROOT / "examples" / "story.jsonl"
TEST_PREFIX = "RISKMON_TEST_"

#: Files the README's commands write, by command and flag: what a later command may read.
WRITES = {
    "generate": ("--out", "--truth"),
    "bench": ("--json",),
    "plan draw": ("--out",),
    "audit export": ("--out",),
}
#: A command argument that names a file.
FILE_ARGUMENT = re.compile(r"^[\w./~-]+\.(?:jsonl|json|csv|toml|md|py|lua|txt|yml|yaml)$")
#: A bare file name in backquotes that must be somewhere in the tree (data files the README's
#: commands write, ``district.jsonl`` or ``bench.json``, need not be).
SOURCE_FILE = re.compile(r"^[\w.-]+\.(?:md|py|lua|toml)$")


# --- commands and flags ------------------------------------------------------------------------


@functools.cache
def cli_help(command: str) -> tuple[int, str]:
    """Exit code and output of ``python -m cli <command> --help``, once per command (a nested
    one, ``plan draw``, as its words)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMON_")}
    env |= {"NO_COLOR": "1", "PYTHON_COLORS": "0", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "cli", *command.split(), "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def accepts(help_text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text) is not None


def in_tree(path: str) -> bool:
    return (ROOT / path).exists()


#: A command's subcommands, as argparse's usage line lists them: ``{draw,verify,list}``.
_CHOICES = re.compile(r"\{([\w,-]+)\}")


def command_name(c: Command, help_of: Callable[[str], tuple[int, str]]) -> str | None:
    """The command ``c`` runs: its subcommand, and the nested one after it when the
    subcommand's help lists that as one of its own (``plan draw``)."""
    sub = c.subcommand
    if sub is None or len(c.args) < 2 or c.args[1].startswith("-"):
        return sub
    code, text = help_of(sub)
    nested = {n for m in _CHOICES.findall(text) for n in m.split(",")}
    return f"{sub} {c.args[1]}" if code == 0 and c.args[1] in nested else sub


def command_problems(
    found: Sequence[Command],
    help_of: Callable[[str], tuple[int, str]],
    exists: Callable[[str], bool],
    doc: str = "README.md",
) -> list[str]:
    """Each command must exist and take each flag it is shown with; a span of bare flags must
    belong to one of the commands of its section; a file it reads must be in the tree or
    written by a command of the document."""
    problems: list[str] = []
    in_section: dict[int, set[str]] = defaultdict(set)
    written: set[str] = set()
    names = {id(c): command_name(c, help_of) for c in found}
    for c in found:
        if (name := names[id(c)]) is not None:
            in_section[c.section].add(name)
            written |= {v for f in WRITES.get(name, ()) if (v := c.value_of(f))}
    for c in found:
        where = f"{doc}:{c.line}: `{c.text}`"
        if (name := names[id(c)]) is not None:
            code, text = help_of(name)
            if code != 0:
                problems.append(
                    f"{where}: riskmon has no command {name!r}"
                    f" (`python -m cli {name} --help` exits {code})"
                )
                continue
            problems += [
                f"{where}: riskmon {name} has no {flag}"
                for flag in c.flags
                if not accepts(text, flag)
            ]
        else:
            near = sorted(s for s in in_section[c.section] if help_of(s)[0] == 0)
            helps = [help_of(s) for s in near]
            shown = ", ".join(f"riskmon {s}" for s in near) or "none"
            problems += [
                f"{where}: no command of its section ({shown}) has {flag}"
                for flag in c.flags
                if not any(code == 0 and accepts(text, flag) for code, text in helps)
            ]
        for value in [*c.values(), *(v for _, v in c.env)]:
            if FILE_ARGUMENT.match(value) and not exists(value) and value not in written:
                problems.append(
                    f"{where}: {value} is not in the tree, and no command shown writes it"
                )
    return problems


# --- settings ----------------------------------------------------------------------------------


def setting_defaults() -> dict[str, object]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {
        f"{prefix}{name.upper()}": field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
    }


def same_default(written: str, default: object) -> bool:
    written = written.strip().strip("`")
    if default is None:
        return written == "unset"
    if isinstance(default, bool):
        return written.lower() == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(written.replace(",", "")) == float(default)
        except ValueError:
            return False
    if isinstance(default, Path):
        return Path(written).expanduser() == default.expanduser()
    return written == str(default)


def setting_problems(
    text: str,
    defaults: Mapping[str, object],
    unknown: Callable[[Mapping[str, str]], list[str]],
    doc: str = "README.md",
) -> list[str]:
    """Each ``RISKMON_*`` named is a setting, a ``RISKMON_TEST_*``, one that riskmon passes
    over (what Kubernetes sets), or a mistake whose error message the document quotes; each
    setting has a row in the configuration table, with its default."""
    problems = []
    for name, value in sorted(variables(text).items()):
        if name in defaults or name.startswith(TEST_PREFIX):
            continue
        said = unknown({name: value or "1"})
        if said and not all(s in text for s in said):
            problems.append(f"{doc} names {name}, which is no setting ({'; '.join(said)})")
    rows = config_rows(text)
    for name, default in sorted(defaults.items()):
        if name not in rows:
            problems.append(f"{name} is a setting, but not in {doc}'s configuration table")
        elif not same_default(rows[name][1], default):
            problems.append(
                f"{doc}:{rows[name][0]}: the table gives {name} the default"
                f" {rows[name][1]!r}, but it is {default!r}"
            )
    problems += [
        f"{doc}:{line}: the configuration table lists {name}, which is no setting"
        for name, (line, _) in sorted(rows.items())
        if name not in defaults
    ]
    return problems


# --- paths ---------------------------------------------------------------------------------------


def path_problems(doc: Path, root: Path, names: Iterable[str]) -> list[str]:
    """Each repository path in backquotes (``examples/story.jsonl``, ``deploy/``, ``.ci/run``,
    a bare ``kafka_transport.py`` or Markdown file name) is in the tree. URLs, absolute and
    home paths, API routes, key patterns and commands are not paths."""
    known = set(names)
    shown = doc.relative_to(root)
    problems = []
    for line, span in spans(doc.read_text("utf-8")):
        ref = span.strip()
        if (
            any(ch.isspace() for ch in ref)
            or "://" in ref
            or (ref.startswith(("/", "~", "-", ".")) and not ref.startswith(".ci/"))
            or any(ch in ref for ch in "{}<>*$:=|,[]()@'\"")
        ):
            continue
        if "/" in ref:
            bare = ref.rstrip("/")
            first = bare.split("/", 1)[0]
            if not (ref.endswith("/") or "." in bare.rsplit("/", 1)[-1] or (root / first).exists()):
                continue
            ok = (root / bare).exists() or (doc.parent / bare).exists()
        elif SOURCE_FILE.match(ref):
            ok = (
                (root / ref).is_file() or (doc.parent / ref).is_file()
                if ref.endswith(".md")
                else ref in known
            )
        else:
            continue
        if not ok:
            problems.append(f"{shown}:{line}: `{ref}` is not in the tree")
    return problems


def markdown_files() -> list[Path]:
    return [p for p in tree_files(ROOT) if p.suffix == ".md"]


# --- the story -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    """What ``riskmon lookup`` of examples/story.jsonl shows, from the fold (the specification)."""

    uscc: str
    view: Mapping[str, Any]  # scoring.explain's answer, what the API sends
    changes: tuple[tuple[str, str], ...]  # class changes that send an alert


def story_from_fold() -> Story:
    model = load_model()
    events = [decode_event(line) for line in STORY.read_bytes().splitlines() if line.strip()]
    state, outcomes = fold([change_for(e, model) for e in events], Params.of(model))
    names = {0: "", 1: "A", 2: "B", 3: "C", 4: "D"}
    changes = tuple(
        (names[o.old_class], names[o.new_class])
        for o in outcomes
        if o.old_class and o.old_class != o.new_class
    )
    return Story(events[0].subject, explain(events[0].subject, state, model), changes)


_LOOKUP = re.compile(
    r"^(?P<uscc>[0-9A-Z]{18})\s+class (?P<klass>[A-D])\s+score (?P<score>-?\d+\.\d+)"
    r"\s+\(model (?P<model>\S+), as of (?P<asof>\S+)\)"
)
_POINTS = re.compile(
    r"^\s*(?:(?P<points>-?\d+\.\d\d) pts|(?P<cancelled>cancelled))\s+(?P<type>[a-z_]+\.[a-z_]+)"
    r"(?:\s+(?P<ref>.*?))?\s+\((?P<date>\d{4}-\d\d-\d\d)\)(?:\s+min class [A-D])?\s*$"
)
_CARRIES = re.compile(r"carries\s+((?:[A-D]\s*→\s*[A-D](?:,\s*|\s+and\s+|\s*)?)+)")


def _row_matches(m: re.Match[str], row: Mapping[str, Any]) -> bool:
    if row["event_type"] != m["type"] or (row["recorded_at"] or "")[:10] != m["date"]:
        return False
    if bool(m["cancelled"]) != row["cancelled"]:
        return False
    if m["points"] is not None and f"{row['points_now']:.2f}" != m["points"]:
        return False
    return m["ref"] in (None, "...", "…", row["reference"], row["detail"])


def story_problems(text: str, story: Story, doc: str = "README.md") -> list[str]:
    problems = []
    view = story.view
    samples = [
        (block.line + i, block.lines[i + 1 :], m)
        for block in blocks(text)
        if block.lang not in SHELL
        for i, line in enumerate(block.lines)
        if (m := _LOOKUP.match(line))
    ]
    if not samples:
        problems.append(f"{doc} shows no `riskmon lookup` output of {STORY.relative_to(ROOT)}")
    computed = {
        "uscc": story.uscc,
        "klass": view["class"],
        "score": f"{view['score']:.2f}",
        "model": view["model_version"],
        "asof": view["asof"],
    }
    for line, after, m in samples:
        problems += [
            f"{doc}:{line}: the story's lookup shows {key} {m[key]}, but the fold gives {want}"
            for key, want in computed.items()
            if m[key] != want
        ]
        for n, row_text in enumerate(after, line + 1):
            row = _POINTS.match(row_text)
            if row and not any(_row_matches(row, r) for r in view["contributions"]):
                problems.append(
                    f"{doc}:{n}: `{row_text.strip()}` is no contribution of the story's state"
                )
    for m in _CARRIES.finditer(text):
        said = tuple(re.findall(r"([A-D])\s*→\s*([A-D])", m.group(1)))
        if said != story.changes:
            shown = ", ".join(f"{a}→{b}" for a, b in story.changes)
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{doc}:{line}: the story's alerts are {shown}, not as written")
    return problems


# --- fault scenarios --------------------------------------------------------------------------


def _says_slow(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "slow" for n in ast.walk(node))


def scenario_tests(root: Path) -> dict[int, list[tuple[str, bool]]]:
    """R number -> (test, slow?) for every test named ``test_r<N>_...`` under tests/."""
    found: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for path in sorted((root / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        module_slow = any(
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
            and _says_slow(node.value)
            for node in tree.body
        )
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                m = re.match(r"test_r(\d+)_", node.name)
                if m:
                    slow = module_slow or any(_says_slow(d) for d in node.decorator_list)
                    found[int(m.group(1))].append((f"{path.relative_to(root)}::{node.name}", slow))
    return dict(found)


def faults_choices(conftest: Path) -> tuple[str, ...]:
    """The values ``--faults`` takes, from its ``addoption`` in the root conftest."""
    for node in ast.walk(ast.parse(conftest.read_text("utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "addoption"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "--faults"
        ):
            for kw in node.keywords:
                if kw.arg == "choices":
                    return tuple(ast.literal_eval(kw.value))
    return ()


def _numbers(text: str) -> list[int]:
    out: list[int] = []
    for m in re.finditer(r"\bR(\d+)(?:\s*[-–]\s*R(\d+))?\b", text):
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        out += range(first, last + 1)
    return out


def fault_problems(
    text: str,
    scenarios: Mapping[int, Sequence[tuple[str, bool]]],
    choices: Sequence[str],
    doc: str = "README.md",
) -> list[str]:
    problems = [
        f"{doc}: `--faults={value}` is not one of --faults' values {list(choices)}"
        for value in sorted(set(re.findall(r"--faults=(\w+)", text)))
        if value not in choices
    ]
    problems += [
        f"{doc} names R{n}, but no test is named test_r{n}_..."
        for n in sorted(set(_numbers(text)))
        if n not in scenarios
    ]
    for m in re.finditer(r"fast set\s*\(([^)]*)\)", text):
        problems += [
            f"{doc} counts R{n} in the fast set, but its tests are all slow:"
            f" {[t for t, _ in scenarios[n]]}"
            for n in _numbers(m.group(1))
            if n in scenarios and all(slow for _, slow in scenarios[n])
        ]
    for m in re.finditer(r"--faults=full`?\s+adds\s+([^.;]*)", text):
        problems += [
            f"{doc} says --faults=full adds R{n}, but the fast set runs"
            f" {[t for t, slow in scenarios[n] if not slow]}"
            for n in _numbers(m.group(1))
            if n in scenarios and not all(slow for _, slow in scenarios[n])
        ]
    return problems


# --- the README ------------------------------------------------------------------------------


def test_the_readme_holds_true() -> None:
    text = README.read_text("utf-8")
    found = commands(text)
    names = {p.name for p in tree_files(ROOT)}
    sections = {
        "commands": command_problems(found, cli_help, in_tree)
        or ([] if any(c.flags for c in found) else ["README.md shows no riskmon command"]),
        "settings": setting_problems(text, setting_defaults(), unknown_variables),
        "paths": [p for doc in markdown_files() for p in path_problems(doc, ROOT, names)],
        "the story": story_problems(text, story_from_fold()),
        "fault scenarios": fault_problems(
            text, scenario_tests(ROOT), faults_choices(ROOT / "tests" / "conftest.py")
        ),
    }
    report = [
        f"{title}:\n" + "\n".join(f"  {p}" for p in problems)
        for title, problems in sections.items()
        if problems
    ]
    assert not report, "the README says what is not so:\n" + "\n".join(report)


# --- each check bites ------------------------------------------------------------------------

FAKE_HELP = {
    "judge": (0, "usage: riskmon judge [-h] --truth TRUTH [--model MODEL] [--json]"),
    "generate": (0, "usage: riskmon generate [-h] [--out OUT] [--truth TRUTH]"),
}


def fake_help(command: str) -> tuple[int, str]:
    return FAKE_HELP.get(command, (2, f"invalid choice: {command!r}"))


def test_the_command_check_bites() -> None:
    doc = (
        "# A\n"
        "```sh\n"
        "riskmon generate --out d.jsonl --truth t.csv && riskmon judge --truth t.csv --nosuch\n"
        "RISKMON_MODEL_PATH=tighter.toml .venv/bin/riskmon judge \\\n"
        "    --truth t.csv --model examples/m.toml\n"
        "```\n"
        "By the riskiest (`--riskiest`), as JSON (`--json`); or `riskmon frobnicate --x`.\n"
        "# B\n"
        "`--truth` here belongs to no command.\n"
    )
    assert command_problems(commands(doc), fake_help, lambda p: p == "examples/m.toml") == [
        "README.md:3: `riskmon judge --truth t.csv --nosuch`: riskmon judge has no --nosuch",
        "README.md:4: `RISKMON_MODEL_PATH=tighter.toml .venv/bin/riskmon judge --truth t.csv"
        " --model examples/m.toml`: tighter.toml is not in the tree, and no command shown"
        " writes it",
        "README.md:7: `--riskiest`: no command of its section (riskmon generate, riskmon judge)"
        " has --riskiest",
        "README.md:7: `riskmon frobnicate --x`: riskmon has no command 'frobnicate'"
        " (`python -m cli frobnicate --help` exits 2)",
        "README.md:9: `--truth`: no command of its section (none) has --truth",
    ]


def test_a_nested_command_is_checked_with_its_own_flags() -> None:
    # `riskmon plan draw --preset ...`: --preset is draw's, not plan's; draw's --out writes
    doc = (
        "```sh\n"
        "riskmon plan draw --preset henan-2021 --seed 1 --out p.json --nosuch\n"
        "riskmon plan verify p.json && riskmon plan frob --preset x\n"
        "```\n"
        "Narrow it with `--scope division=610112`.\n"
    )
    problems = command_problems(commands(doc), cli_help, in_tree)
    assert problems == [
        "README.md:2: `riskmon plan draw --preset henan-2021 --seed 1 --out p.json --nosuch`:"
        " riskmon plan draw has no --nosuch",
        "README.md:3: `riskmon plan frob --preset x`: riskmon plan has no --preset",
    ]


def test_the_command_check_asks_the_real_cli() -> None:
    doc = (
        "`riskmon generate --truth t.csv`, then"
        " `riskmon judge --truth t.csv --riskiest 0.2 --nosuch`; `riskmon nosuch-command`\n"
    )
    problems = command_problems(commands(doc), cli_help, in_tree)
    assert problems == [
        "README.md:1: `riskmon judge --truth t.csv --riskiest 0.2 --nosuch`:"
        " riskmon judge has no --nosuch",
        "README.md:1: `riskmon nosuch-command`: riskmon has no command 'nosuch-command'"
        " (`python -m cli nosuch-command --help` exits 2)",
    ]


def config_table(defaults: Mapping[str, object]) -> list[str]:
    def cell(v: object) -> str:
        return "unset" if v is None else str(v)

    return [f"| `{name}` | {cell(v)} | meaning |" for name, v in defaults.items()]


def test_the_settings_check_bites() -> None:
    defaults = setting_defaults()
    rows = config_table(defaults)
    rows = [r.replace("| 3 |", "| 2 |") if "PIPELINE_BATCHES" in r else r for r in rows]
    rows = [r for r in rows if "RISKMON_LOG_LEVEL" not in r]
    rows.append("| `RISKMON_PIPELINE_BATCH` | 2 | misspelt |")
    prose = (
        "Set `RISKMON_WEB_PROT` and it fails. Kubernetes sets `RISKMON_SERVICE_HOST` and"
        " `RISKMON_PORT=tcp://10.0.0.1:6066`; the suite reads `RISKMON_TEST_REDIS_URL`; a typo"
        " fails: `RISKMON_GROUP: not a setting (did you mean RISKMON_GROUP_ID?)`.\n"
    )
    doc = prose + "\n".join(rows) + "\n"
    table_line = doc.splitlines().index(next(r for r in rows if "PIPELINE_BATCHES" in r)) + 1
    problems = setting_problems(doc, defaults, unknown_variables)
    assert problems == [
        "README.md names RISKMON_PIPELINE_BATCH, which is no setting"
        " (RISKMON_PIPELINE_BATCH: not a setting (did you mean RISKMON_PIPELINE_BATCHES?))",
        "README.md names RISKMON_WEB_PROT, which is no setting"
        " (RISKMON_WEB_PROT: not a setting (did you mean RISKMON_WEB_PORT?))",
        "RISKMON_LOG_LEVEL is a setting, but not in README.md's configuration table",
        f"README.md:{table_line}: the table gives RISKMON_PIPELINE_BATCHES the default '2',"
        " but it is 3",
        f"README.md:{len(rows) + 1}: the configuration table lists RISKMON_PIPELINE_BATCH,"
        " which is no setting",
    ]


def test_the_defaults_are_compared_as_values() -> None:
    assert same_default("65,536", 65_536) and same_default("1.0", 1) and same_default("unset", None)
    assert same_default("~/.riskmon/run.json", Path.home() / ".riskmon" / "run.json")
    assert not same_default("3", 2) and not same_default("0", None) and not same_default("x", "y")


def test_the_path_check_bites(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "story.jsonl").write_text("")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "README.md").write_text("`prometheus/rules.yml`, `README.md`\n")
    doc = tmp_path / "README.md"
    doc.write_text(
        "`examples/story.jsonl` `examples/` `deploy/README.md` `kafka_transport.py`\n"
        "`examples/gone.jsonl` `docs/` `tighter.toml` `RELIABILITY.md` `scoring/lua/x.lua`\n"
        "`riskmon.events` `redis://host:6379/0` `~/.riskmon/run.json` `/enterprises/{uscc}`\n"
        "`<prefix>:s:{pNNN}` `district.jsonl` `bench.json` `GET /metrics` `events/s`\n"
        "```\n`not/in/prose.py`\n```\n"
    )
    names = ["kafka_transport.py", "story.jsonl"]
    assert path_problems(doc, tmp_path, names) == [
        "README.md:2: `examples/gone.jsonl` is not in the tree",
        "README.md:2: `docs/` is not in the tree",
        "README.md:2: `tighter.toml` is not in the tree",
        "README.md:2: `RELIABILITY.md` is not in the tree",
        "README.md:2: `scoring/lua/x.lua` is not in the tree",
    ]
    assert path_problems(tmp_path / "deploy" / "README.md", tmp_path, names) == [
        "deploy/README.md:1: `prometheus/rules.yml` is not in the tree"
    ]


def test_the_story_check_bites() -> None:
    story = story_from_fold()
    right = story_problems(
        "```\n91610112MA6TGQ1K2M  class A  score {score:.2f}  (model {v}, as of {asof})\n"
        "  why:\n      15.00 pts  inspection.completed ... (2026-04-20)\n       ...\n"
        "  cancelled  serious_violation.added 西未市监严〔2026〕0003号 (2026-05-06)\n```\n"
        "and `riskmon.alerts` carries A→B, B→C, C→D, D→C, C→B, B→A.\n".format(
            score=story.view["score"], v=story.view["model_version"], asof=story.view["asof"]
        ),
        story,
    )
    assert right == []
    wrong = story_problems(
        "```\n91610112MA6TGQ1K2M  class B  score 8.66  (model default-2026.1,"
        " as of 2026-10-10T02:00:00+00:00)\n  why:\n"
        "      14.00 pts  inspection.completed ... (2026-04-20)\n"
        "  cancelled  penalty.imposed 西未市监罚〔2026〕0999号 (2026-03-02)\n```\n"
        "and `riskmon.alerts` carries A→B, B→C, C→D, D→C, C→B.\n",
        story,
    )
    assert wrong == [
        "README.md:2: the story's lookup shows klass B, but the fold gives A",
        f"README.md:2: the story's lookup shows score 8.66, but the fold gives"
        f" {story.view['score']:.2f}",
        "README.md:4: `14.00 pts  inspection.completed ... (2026-04-20)` is no contribution"
        " of the story's state",
        "README.md:5: `cancelled  penalty.imposed 西未市监罚〔2026〕0999号 (2026-03-02)` is no"
        " contribution of the story's state",
        "README.md:7: the story's alerts are A→B, B→C, C→D, D→C, C→B, B→A, not as written",
    ]
    assert story_problems("no sample here\n", story) == [
        "README.md shows no `riskmon lookup` output of examples/story.jsonl"
    ]


def test_the_fault_scenario_check_bites() -> None:
    scenarios = {
        1: [("tests/faults/test_exact.py::test_r1_x", False)],
        4: [("tests/faults/test_long.py::test_r4_x", True)],
        5: [("tests/faults/test_redis.py::test_r5_x", True)],
        6: [("tests/faults/test_redis.py::test_r6_x", False)],
    }
    doc = (
        "Scenarios R1-R2 are tests. `python -m pytest` runs the fast set (R1, R5, a fuzz);\n"
        "`python -m pytest --faults=full` adds R4 (rebalancing), R6 and a longer fuzz.\n"
        "`--faults=all` runs more.\n"
    )
    assert fault_problems(doc, scenarios, ("fast", "full")) == [
        "README.md: `--faults=all` is not one of --faults' values ['fast', 'full']",
        "README.md names R2, but no test is named test_r2_...",
        "README.md counts R5 in the fast set, but its tests are all slow:"
        " ['tests/faults/test_redis.py::test_r5_x']",
        "README.md says --faults=full adds R6, but the fast set runs"
        " ['tests/faults/test_redis.py::test_r6_x']",
    ]


def test_the_scenarios_and_choices_are_read_from_the_tests() -> None:
    # Guard against a silent pass: the readers find what tests/ holds today.
    scenarios = scenario_tests(ROOT)
    assert {1, 3, 4, 5, 6, 8} <= set(scenarios)
    assert all(slow for _, slow in scenarios[4]) and not any(slow for _, slow in scenarios[1])
    assert faults_choices(ROOT / "tests" / "conftest.py") == ("fast", "full")
