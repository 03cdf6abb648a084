"""The audit log end to end: a real worker, broker and Redis; tokens made with the command,
an explanation read and a task changed through the API; then ``riskmon audit verify`` on the
topic, ``export``, and an auditor's offline check of the copy that catches an altered, a
deleted and two swapped records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from security.audit import AuditRecord
from tests.support.harness import ROOT, Worker, wait_for

USCC = "91610112MA6TGQ1K2M"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _send_story(env: dict[str, str]) -> None:
    done = _cli(env, "send", str(ROOT / "examples" / "story.jsonl"))
    assert done.returncode == 0, done.stderr


def _get(worker: Worker, path: str, token: str) -> tuple[int, Any]:
    return worker.get(path, token=token)


def test_what_people_did_is_in_a_chain_an_auditor_can_check(
    worker: Worker, env: dict[str, str], tmp_path: Path
) -> None:
    worker.env["RISKMON_AUDIT_ANCHOR_SECONDS"] = "1"
    worker.start().wait_ready()
    _send_story(env)
    made = _cli(env, "token", "create", "--role", "analyst", "--name", "li.na")
    assert made.returncode == 0, made.stderr
    analyst = made.stdout.splitlines()[-1]
    wait_for(lambda: _get(worker, f"/enterprises/{USCC}", analyst)[0] == 200, 60, what="the read")
    status, doc = _get(worker, f"/enterprises/{USCC}", analyst)
    assert status == 200 and "contributions" in doc
    drawn = _cli(
        env, "plan", "draw", "--preset", "henan-2021", "--name", "audit e2e",
        "--inspectors", str(ROOT / "examples" / "inspectors.csv"), "--seed", "7", "--publish",
    )  # fmt: skip
    assert drawn.returncode == 0, drawn.stderr

    verified = wait_for(
        lambda: (r := _cli(env, "audit", "verify")).returncode == 0 and r, 60, what="verify"
    )
    assert "audit log sound:" in verified.stdout and "matches the head in Redis" in verified.stdout

    out = tmp_path / "audit.jsonl"

    def exported_with_the_story() -> list[AuditRecord]:
        done = _cli(env, "audit", "export", "--out", str(out))
        assert done.returncode == 0, done.stdout + done.stderr
        found = [AuditRecord.from_json(line) for line in out.read_bytes().splitlines()]
        changes = [r for r in found if r.action == "class.change"]
        anchored = any(r.action == "audit.anchor" and r.target.count("@") for r in found)
        return found if len(changes) == 6 and anchored else []

    everything = wait_for(exported_with_the_story, 60, what="the story's class changes, anchored")
    # the stream's own records: the story's six class changes, once each, in its partition's
    # chain, in log order, by riskmon, with the event that caused each
    changes = [r for r in everything if r.action == "class.change"]
    assert {r.chain for r in changes} == {changes[0].chain} and changes[0].chain.startswith("p")
    assert [r.seq for r in changes] == sorted(r.seq for r in changes)
    assert {(r.actor, r.target) for r in changes} == {("riskmon", USCC)}
    # the story's task steps in the same chain: created by riskmon, assigned by the person
    # the event names, completed by the inspection's source
    steps = [(r.action, r.actor) for r in everything if r.action.startswith("task.")]
    assert {r.chain for r in everything if r.action.startswith("task.")} == {changes[0].chain}
    assert ("task.created", "riskmon") in steps and ("task.assigned", "duty-officer-03") in steps
    assert ("task.completed", "/spotcheck/610112") in steps, steps
    records = [r for r in everything if r.chain == "ops"]
    actions = [(r.action, r.actor.split(":")[0]) for r in records]
    # the run's own token, li.na's, and li.na's read (at least once: the wait above read too)
    assert actions[0] == ("token.create", "local") and ("token.create", "local") in actions[1:]
    (published,) = [r for r in records if r.action == "plan.publish"]
    assert published.actor.startswith("local:") and published.target in drawn.stdout
    reads = [r for r in records if r.action == "enterprise.explain"]
    assert reads and {(r.actor, r.target) for r in reads} == {("token:li.na", USCC)}
    assert [r.seq for r in records] == list(range(len(records)))
    # the same copy, verified offline, anchors included
    assert _cli(env, "audit", "verify").returncode == 0

    # an admin reads the recent tail over the API, newest first; an analyst may not
    status, tail = _get(worker, "/audit/recent?limit=3", worker.token() or "")
    seqs = [r["seq"] for r in tail["records"]]
    assert status == 200 and len(seqs) == 3 and seqs == sorted(seqs, reverse=True)
    assert seqs[0] >= records[-1].seq and {r["chain"] for r in tail["records"]} == {"ops"}
    assert _get(worker, "/audit/recent", analyst)[0] == 403

    offline = _cli(env, "audit", "verify", "--file", str(out))
    assert offline.returncode == 0, offline.stdout

    lines = [line for line in out.read_bytes().splitlines() if b'"chain":"ops"' in line]
    altered = [json.loads(x) for x in lines]
    altered[1]["actor"] = "token:someone-else"
    cases = {
        "altered": [json.dumps(d).encode() for d in altered],
        "deleted": lines[:1] + lines[2:],
        "swapped": [lines[0], lines[2], lines[1], *lines[3:]],
    }
    for what, copy in cases.items():
        bad = tmp_path / f"{what}.jsonl"
        bad.write_bytes(b"\n".join(copy) + b"\n")
        checked = _cli(env, "audit", "verify", "--file", str(bad))
        assert checked.returncode == 1, (what, checked.stdout)
        assert "audit log broken: record 2 (chain ops, seq" in checked.stdout, (
            what,
            checked.stdout,
        )


def test_the_api_turns_away_what_the_audit_could_not_see(worker: Worker) -> None:
    # no credentials: no read, so nothing to record
    worker.start().wait_ready()
    request = urllib.request.Request(worker.web + f"/enterprises/{USCC}")
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("answered without credentials")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
        assert exc.headers["WWW-Authenticate"] == 'Bearer realm="riskmon"'
