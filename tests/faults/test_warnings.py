"""Early warnings under R3 and R10 of docs/reliability.md: the warning ids equal the reference
fold's of the log as published, through re-published events, different batching, and a crash
after the Redis write.

The seeded log (re-published duplicates, poison records, a feed in event-time order but for one
event in five) is given what the rules act on: firms registered at two shared addresses, spelled
several ways (25 at one: the levels 10 and 20; 12 at the other: 10), complaint bursts and
penalty clusters on some of the seeded firms, and a listing that drives one into D. A third of
those are published again (same ``source`` + ``id``, new offsets). A worker taking batches of
50 crashes after its third Redis write that owed outputs, before sending them or committing;
its successor takes batches of 7. In the end the set of warning ids on the alerts topic is the
reference's (and, as for every scenario, every alert, task and state too), and every rule of
the shipped file fired.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.codec import encode_event
from schemas.uscc import make_uscc
from tests.support.builders import event
from tests.support.eventlog import LogRecord, seeded_log
from tests.support.harness import Worker, read_topic
from tests.support.scenario import ROWS, Published, Row, crash_then_finish, metric

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ADDRESSES = [
    ["西安市未央区凤城八路166号创业大厦", "西安市 未央区 凤城八路１６６号（创业大厦）"],
    ["西安市未央区文景路9号", "西安市未央区文景路９号。"],
]


def _rec(etype: str, data: dict[str, Any], when: dt.datetime, uscc: str, eid: str) -> LogRecord:
    ev = event(etype, data, when=when, subject=uscc, eid=eid)
    return LogRecord(uscc.encode(), encode_event(ev))


def warned_log(seed: int) -> list[LogRecord]:
    rng = random.Random(seed)
    base = seeded_log(seed=seed, enterprises=40, events=600, disorder=0.2)
    regs = [
        orjson.loads(r.value)
        for r in base
        if not r.poison and orjson.loads(r.value)["type"] == "enterprise.registered"
    ]
    start = min(dt.datetime.fromisoformat(r["time"]) for r in regs)
    extras: list[tuple[dt.datetime, LogRecord]] = []
    # shell-like firms at two addresses
    for a, (count, spellings) in enumerate(zip((25, 12), ADDRESSES, strict=True)):
        for n in range(count):
            u = make_uscc(rng)
            when = start + dt.timedelta(days=10 + 3 * n + a)
            data = {
                "name": f"某某商贸{a}-{n}有限公司",
                "division_code": "610112",
                "industry_code": "F5191",
                "founded_on": str((when - dt.timedelta(days=5)).date()),
                "registered_capital_cny": 1e5,
                "address": spellings[n % len(spellings)],
            }
            extras.append((when, _rec("enterprise.registered", data, when, u, f"addr-{a}-{n}")))
    # complaint bursts on three seeded firms, penalty clusters on two
    for k, reg in enumerate(regs[:3]):
        t0 = start + dt.timedelta(days=300 + 20 * k)
        for n in range(6):
            when = t0 + dt.timedelta(days=3 * n)
            data = {"channel": "12315_platform", "category": "food_safety"}
            extras.append((when, _rec("complaint.received", data, when, reg["subject"],
                                      f"burst-{k}-{n}")))  # fmt: skip
    for k, reg in enumerate(regs[3:5]):
        t0 = start + dt.timedelta(days=200 + 30 * k)
        for n in range(3):
            when = t0 + dt.timedelta(days=40 * n)
            data = {
                "decision_number": f"西未市监罚〔2025〕{k}{n}号",
                "domain": "food",
                "fine_cny": 20_000.0,
                "severity": "ordinary",
            }
            extras.append((when, _rec("penalty.imposed", data, when, reg["subject"],
                                      f"pen-{k}-{n}")))  # fmt: skip
    when = start + dt.timedelta(days=250)
    data = {"decision_number": "西未市监严〔2025〕0009号", "reason": "fraud"}
    extras.append((when, _rec("serious_violation.added", data, when, regs[5]["subject"], "sv-w")))
    extras.sort(key=lambda e: e[0])
    added = [r for _, r in extras]
    return base + added + rng.sample(added, len(added) // 3)


def test_warnings_through_republished_events_rebatching_and_a_crash(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, tmp_path: Path, redis_url: str
) -> None:
    row = Row("R3+R10 warnings", faults="re-published events, crash after Redis write, 50 then 7")
    ROWS.append(row)
    log = Published(kafka_bootstrap, env)
    row.events = log.send(warned_log(18))

    out = crash_then_finish(kafka_bootstrap, redis_url, env, worker, log, tmp_path)
    expected = out.expected
    sent: dict[str, str] = {}
    for rec in read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"]):
        doc = orjson.loads(rec.value)
        if doc["type"] == "riskmon.alert.warning":
            sent[doc["id"]] = doc["data"]["rule"]
    assert set(sent) == expected.warning_ids
    rules = sorted(set(sent.values()))
    assert rules == ["address-cluster", "complaint-surge", "first-d", "near-boundary",
                     "penalty-cluster"], rules  # fmt: skip
    assert list(sent.values()).count("address-cluster") == 3  # 10 and 20 at one, 10 at the other
    # counted once each where first applied: the successor re-sent what the crashed worker
    # had applied, without counting it again
    counted = metric(worker, "riskmon_warnings_total")
    assert 0 < counted <= len(sent)
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    row.result = f"exact; {len(sent)} warnings of {len(rules)} rules"
