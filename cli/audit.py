"""``riskmon audit verify [--file FILE]`` and ``riskmon audit export --out FILE``.

``verify`` recomputes the audit chain from the topic (after sending what Redis still holds) and
checks it against the chain's head in Redis: exit 0 if it is sound, 1 naming the first broken
record. With ``--file`` it checks an export instead, offline: no Kafka, no Redis, only the
key (``RISKMON_AUDIT_KEY``, if the log was written with one). ``export`` writes the log, one
record a JSON line, duplicates of redelivery left out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli import runfile
from cli.arguments import Subparsers
from cli.errors import CommandError
from jobs.audit import forward_pending, parse, read_log
from security.audit import DEFAULT_AUDIT_KEY, AuditRecord, Head, verify
from security.exceptions import SecurityError
from streams.settings import Settings

__all__ = ["add", "run_export", "run_verify"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "audit",
        help="verify or export the tamper-evident audit log",
        description="The audit log: who did what, hash-chained (HMAC under RISKMON_AUDIT_KEY)."
        " Read from the audit topic of RISKMON_KAFKA_BOOTSTRAP, else of a running riskmon run.",
    )
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="{verify,export}")
    v = audit_sub.add_parser(
        "verify",
        help="recompute the chain; exit 1 naming the first broken record",
        description="Recompute the audit chain from the topic, or from an export (--file), and"
        " exit 0 if it is sound, else 1 naming the first broken record: altered, missing,"
        " out of order, or (against Redis's head) cut short.",
    )
    v.add_argument("--file", type=Path, help="an export (JSON lines) to check offline")
    v.set_defaults(handler=run_verify)
    e = audit_sub.add_parser("export", help="write the log as JSON lines, one record a line")
    e.add_argument("--out", type=Path, required=True, help="the file to write")
    e.set_defaults(handler=run_export)


def _key(s: Settings) -> bytes:
    return s.audit_key.get_secret_value().encode() if s.audit_key else DEFAULT_AUDIT_KEY


def _from_topic(s: Settings) -> tuple[list[AuditRecord], dict[str, Head]]:
    bootstrap = runfile.bootstrap(s)
    try:
        heads = forward_pending(s, runfile.redis_url(s), bootstrap)
        return parse(read_log(s, bootstrap)), heads
    except SecurityError as exc:
        raise CommandError(str(exc)) from None


def run_verify(args: argparse.Namespace, s: Settings) -> int:
    heads: dict[str, Head] | None = None
    try:
        if args.file is not None:
            records = parse(args.file.read_bytes().splitlines())
        else:
            records, heads = _from_topic(s)
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    except SecurityError as exc:
        print(f"audit log broken: {exc}")
        return 1
    verdict = verify(records, _key(s), heads)
    if not verdict.ok:
        print(f"audit log broken: {verdict.problem}")
        return 1
    ends = ", ".join(
        f"chain {c} ends at seq {h.seq} ({h.hash[:16]})" for c, h in sorted(verdict.heads.items())
    )
    checked = "" if heads is None else "; matches the head in Redis"
    print(
        f"audit log sound: {verdict.records} records ({verdict.duplicates} duplicates of"
        f" redelivery); {ends or 'empty'}{checked}"
    )
    return 0


def run_export(args: argparse.Namespace, s: Settings) -> int:
    records, heads = _from_topic(s)
    verdict = verify(records, _key(s), heads)
    seen: set[tuple[str, int]] = set()
    lines = []
    for rec in records:
        if (rec.chain, rec.seq) not in seen:
            seen.add((rec.chain, rec.seq))
            lines.append(rec.to_json())
    try:
        args.out.write_bytes(b"".join(line + b"\n" for line in lines))
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    print(f"wrote {len(lines)} records to {args.out}")
    if not verdict.ok:
        print(f"warning: the log does not verify: {verdict.problem}")
        return 1
    return 0
