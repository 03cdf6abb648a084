"""The key layout: every key of a partition in one Redis Cluster slot, enterprises spread over
a fixed set of state hashes, prefixes kept apart."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from scoring.store import STATE_BUCKETS, Keys, bucket_of
from scoring.store.plan import reclassify_call

USCCS = ["91110000600037341L", "91110108551385082Q", "91440101MA5CJQ4N59", "91610112MA6TGQ1K2M"]


def every_key(keys: Keys, partition: int) -> list[str]:
    return [
        *keys.shared(partition),
        *keys.buckets(partition),
        keys.outbox(partition),
        keys.ledger(partition) + ":17",  # a ledger window's bucket, as apply.lua names it
    ]


@pytest.mark.parametrize("partition", [0, 7, 11, 999])
def test_every_key_of_a_partition_is_in_one_cluster_slot(partition: int) -> None:
    slots = {key_slot(k.encode()) for k in every_key(Keys("rm"), partition)}
    assert len(slots) == 1


def test_partitions_have_their_own_slots() -> None:
    slots = {key_slot(Keys("rm").meta(p).encode()) for p in range(12)}
    assert len(slots) == 12


def test_an_enterprise_lives_in_one_of_its_partitions_state_hashes() -> None:
    keys = Keys("rm")
    assert len(set(keys.buckets(3))) == STATE_BUCKETS
    for uscc in USCCS:
        assert 0 <= bucket_of(uscc) < STATE_BUCKETS
        assert keys.states(3, uscc) == keys.buckets(3)[bucket_of(uscc)]
        assert keys.states(3, uscc) in keys.buckets(3)


def test_enterprises_spread_over_the_state_hashes() -> None:
    usccs = [f"9161011200000{i:05d}" for i in range(6_400)]
    used = {bucket_of(u) for u in usccs}
    assert len(used) == STATE_BUCKETS


def test_two_prefixes_share_no_key() -> None:
    a, b = Keys("rm"), Keys("rm2")
    names_a = {*every_key(a, 0), a.models()}
    names_b = {*every_key(b, 0), b.models()}
    assert not names_a & names_b
    assert all(n.startswith("rm:") for n in names_a)


def test_a_reclassify_call_names_its_hash_and_the_outbox_only_when_asked() -> None:
    keys = Keys("rm")
    plain, _ = reclassify_call(keys, "params", 2, 5, "0", force=False, outbox=False)
    boxed, args = reclassify_call(keys, "params", 2, 5, "0", force=True, outbox=True)
    assert plain == [*keys.shared(2), keys.buckets(2)[5]]
    assert boxed == [*plain, keys.outbox(2)]
    assert args[:4] == ["params", "reclassify", "force", "0"]
