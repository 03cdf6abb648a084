"""streams.topics without a broker: the partitioner agrees with Java and aiokafka; specs checked.

ensure_topics against a real broker is in tests/integration/test_embedded.py.
"""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner as AiokafkaPartitioner
from kafka.partitioner.default import murmur2

from streams.topics import TopicSpec, partition_for


def _signed32(n: int) -> int:
    return n - (1 << 32) if n >= 1 << 31 else n


# org.apache.kafka.common.utils.UtilsTest#testMurmur2: Java's murmur2, a signed 32-bit int.
JAVA_MURMUR2 = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("key", "java"), JAVA_MURMUR2)
def test_murmur2_equals_the_java_clients(key: bytes, java: int) -> None:
    assert _signed32(murmur2(key)) == java


# Partitions the Java producer's partitioner chose among 1000 (as recorded in kafka-python's own
# partitioner tests), including the empty key and a key with a NUL byte.
JAVA_PARTITION_OF_1000 = [
    (b"", 681),
    (b"a", 524),
    (b"ab", 434),
    (b"abc", 107),
    (b"123456789", 566),
    (b"\x00 ", 742),
]


@pytest.mark.parametrize(("key", "partition"), JAVA_PARTITION_OF_1000)
def test_partition_for_equals_the_java_producer(key: bytes, partition: int) -> None:
    assert partition_for(key, 1000) == partition


def test_partition_clears_the_sign_bit_rather_than_taking_abs() -> None:
    # murmur2(b"21") is negative in Java: toPositive() masks the sign bit, abs() would differ.
    java = -973932308
    assert partition_for(b"21", 7) == (java & 0x7FFFFFFF) % 7 != abs(java) % 7


def test_partition_for_agrees_with_aiokafka_for_random_keys() -> None:
    rnd = random.Random(20240917)
    aiokafka = AiokafkaPartitioner()
    for _ in range(2000):
        key = rnd.randbytes(rnd.randrange(0, 40))
        partitions = rnd.choice([1, 2, 3, 8, 12, 64, 1000])
        every = list(range(partitions))
        assert partition_for(key, partitions) == aiokafka(key, every, every), key


def test_partition_for_agrees_with_aiokafka_for_uscc_keys() -> None:
    # The keys riskmon actually uses: 18-character USCC strings, UTF-8 encoded.
    rnd = random.Random(7)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    aiokafka = AiokafkaPartitioner()
    every = list(range(8))
    seen = set()
    for _ in range(500):
        key = "".join(rnd.choice(alphabet) for _ in range(18)).encode()
        part = partition_for(key, 8)
        assert part == aiokafka(key, every, every)
        seen.add(part)
    assert seen == set(every)  # and it spreads keys over every partition


@pytest.mark.parametrize("partitions", [0, -1])
def test_partition_for_refuses_no_partitions(partitions: int) -> None:
    with pytest.raises(ValueError, match="partitions"):
        partition_for(b"x", partitions)


def test_topic_spec_defaults() -> None:
    spec = TopicSpec("riskmon.events", 8)
    assert (spec.replication_factor, dict(spec.config)) == (1, {})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "has space", "partitions": 1}, "illegal topic name"),
        ({"name": "", "partitions": 1}, "illegal topic name"),
        ({"name": "..", "partitions": 1}, "illegal topic name"),
        ({"name": "x" * 250, "partitions": 1}, "illegal topic name"),
        ({"name": "ok", "partitions": 0}, "partitions must be >= 1"),
        ({"name": "ok", "partitions": 1, "replication_factor": 0}, "replication_factor"),
    ],
)
def test_topic_spec_refuses_what_kafka_would(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TopicSpec(**kwargs)  # type: ignore[arg-type]


def test_topic_spec_is_frozen() -> None:
    spec = TopicSpec("a", 1)
    with pytest.raises(AttributeError):
        spec.partitions = 2  # type: ignore[misc]
