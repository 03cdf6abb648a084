"""A JSON-lines file read as the topic a producer would have filled: murmur2 partitions and
offsets that count the lines of each partition."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from district.generator import DistrictSpec, lines
from jobs.replay import file_records
from streams.planning import validate_record
from streams.topics import partition_for


def test_file_lines_become_records_of_their_murmur2_partition(tmp_path: Path) -> None:
    spec = DistrictSpec(now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), enterprises=80, seed=2)
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join([*lines(spec), b"", b"not json"]) + b"\n")
    batches = list(file_records(path, "riskmon.events", partitions=4, batch=50))
    records = [r for b in batches for r in b]
    assert all(len(b) <= 50 for b in batches)
    assert records[-1].value == b"not json" and records[-1].key is None  # kept, to dead-letter
    seen: dict[int, list[int]] = defaultdict(list)
    for rec in records[:-1]:
        assert rec.key is not None
        assert rec.partition == partition_for(rec.key, 4)
        seen[rec.partition].append(rec.offset)
        # exactly what the worker would accept from the topic
        assert validate_record(rec, 4, 65_536).subject == rec.key.decode()
    assert len(seen) == 4
    assert all(offsets == list(range(len(offsets))) for offsets in seen.values())
