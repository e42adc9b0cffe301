//! The descriptor table against the fake store: slots, takeovers, the bound on keys, and an
//! active client's limit under a flood of new values.

use weir_sdk::Status;

use super::*;
use crate::bucket::Take;
use crate::store::fake::FakeStore;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;
const PREFIX: &str = "weir.ratelimit//5.1.3600000000000/t20:user/";

/// 5 tokens, one back every hour.
const SPEC: BucketSpec = BucketSpec { max_tokens: 5, tokens_per_fill: 1, fill_interval_ns: 3600 * SEC };

fn slot(user: &str, slots: u32) -> SlotRef {
    SlotRef { descriptor: format!("d:user={user}"), slots }
}

fn taken(checked: Checked) -> (Take, bool) {
    match checked {
        Checked::Taken { take, evicted, .. } => (take, evicted),
        other => panic!("{other:?}"),
    }
}

fn allowed(store: &FakeStore, user: &str, slots: u32, now: u64) -> bool {
    taken(take(store, PREFIX, &slot(user, slots), &SPEC, now, 10)).0.allowed
}

/// Keys of the table in the store.
fn table_keys(store: &FakeStore) -> usize {
    store.data.borrow().keys().filter(|k| k.starts_with(PREFIX)).count()
}

#[test]
fn slots_round_trip_and_refuse_other_bytes() {
    let state = BucketState { tokens: 3, last_refill_ns: T0 };
    let bytes = encode(&state, "d:user=a");
    assert_eq!((bytes[0], bytes.len()), (2, ENCODED_LEN + 8));
    assert_eq!(decode(&bytes), Some((state, &b"d:user=a"[..])));
    assert_eq!(decode(&state.encode()), None, "a plain bucket is not a slot");
    assert_eq!(decode(&bytes[..ENCODED_LEN]), None, "a slot names its descriptor");
    assert_eq!(decode(b"garbage"), None);
}

#[test]
fn probes_are_distinct_slots_of_the_table() {
    for slots in [1, 2, 3, 4, 20, 100_000] {
        for user in ["a", "b", "10.0.0.1"] {
            let p: Vec<u32> = probes(&format!("d:user={user}"), slots).collect();
            assert_eq!(p.len() as u32, PROBES.min(slots));
            assert!(p.iter().all(|i| *i < slots));
            let mut unique = p.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), p.len(), "{slots}: {p:?}");
        }
    }
}

#[test]
fn eviction_costs_the_tokens_a_bucket_lacks_then_prefers_the_youngest() {
    let full = BucketState::full(&SPEC, T0);
    assert_eq!(eviction_cost(&SPEC, full, T0 + 5).0, 0);
    let empty = BucketState { tokens: 0, last_refill_ns: T0 };
    assert_eq!(eviction_cost(&SPEC, empty, T0).0, 5);
    assert_eq!(eviction_cost(&SPEC, empty, T0 + 3600 * SEC + 1).0, 4, "one token back");
    assert_eq!(eviction_cost(&SPEC, empty, T0 + 5 * 3600 * SEC).0, 0, "refilled by now");
    let (older, younger) =
        (BucketState { tokens: 4, last_refill_ns: T0 }, BucketState { tokens: 4, last_refill_ns: T0 + 9 });
    assert!(eviction_cost(&SPEC, younger, T0 + 10) < eviction_cost(&SPEC, older, T0 + 10));
    assert!(eviction_cost(&SPEC, older, T0 + 10) < eviction_cost(&SPEC, empty, T0 + 10));
}

#[test]
fn each_value_has_its_bucket_and_its_limit() {
    let store = FakeStore::default();
    let alice: Vec<bool> = (0..6).map(|i| allowed(&store, "alice", 20, T0 + i)).collect();
    assert_eq!(alice, [true, true, true, true, true, false]);
    assert!(allowed(&store, "bob", 20, T0 + 10), "bob has his own bucket");
    assert!(!allowed(&store, "alice", 20, T0 + 11));
    // An hour later alice has one token back.
    assert!(allowed(&store, "alice", 20, T0 + 3600 * SEC + 5));
    assert!(!allowed(&store, "alice", 20, T0 + 3600 * SEC + 6));
    assert_eq!(table_keys(&store), 2);
}

#[test]
fn a_refilled_slot_is_reused_without_eviction() {
    // One slot: every value shares it.
    let store = FakeStore::default();
    let (_, evicted) = taken(take(&store, PREFIX, &slot("a", 1), &SPEC, T0, 10));
    assert!(!evicted, "an empty table");
    // b takes a's slot while a's bucket still lacks a token: an eviction.
    let (t, evicted) = taken(take(&store, PREFIX, &slot("b", 1), &SPEC, T0 + 1, 10));
    assert!(t.allowed && evicted);
    // An hour later b's bucket is full again: c takes the slot for free.
    let (_, evicted) = taken(take(&store, PREFIX, &slot("c", 1), &SPEC, T0 + 3600 * SEC + 1, 10));
    assert!(!evicted);
    assert_eq!(table_keys(&store), 1);
}

#[test]
fn a_flood_of_new_values_stays_within_the_table_and_spares_a_client_at_its_limit() {
    let store = FakeStore::default();
    let mut active = Vec::new();
    let mut evictions = 0;
    for i in 0..100_000u64 {
        let now = T0 + i * 1000;
        let (_, evicted) = taken(take(&store, PREFIX, &slot(&format!("client-{i}"), 20), &SPEC, now, 10));
        evictions += u32::from(evicted);
        if i % 100 == 0 {
            active.push(allowed(&store, "active", 20, now + 1));
        }
    }
    assert!(table_keys(&store) <= 20, "{} keys", table_keys(&store));
    assert!(evictions > 99_000, "new values take over each other's slots ({evictions})");
    // 1000 requests from the active client over 100 ms: exactly its 5 tokens.
    assert_eq!(active.iter().filter(|a| **a).count(), 5);
    assert!(active[..5].iter().all(|a| *a));
}

#[test]
fn conflicts_retry_and_failures_are_reported() {
    let store = FakeStore::default();
    assert!(allowed(&store, "a", 20, T0));
    // Two conflicts, then the write goes through.
    store.conflicts.set(2);
    assert!(allowed(&store, "a", 20, T0 + 1));
    store.conflicts.set(u32::MAX);
    assert_eq!(take(&store, PREFIX, &slot("a", 20), &SPEC, T0 + 2, 3), Checked::Contention { attempts: 3 });
    store.conflicts.set(0);
    store.fail_with.set(Some(Status::InternalFailure));
    assert_eq!(take(&store, PREFIX, &slot("a", 20), &SPEC, T0, 3), Checked::Failed(Status::InternalFailure));
    store.fail_with.set(None);
    // Three tokens taken (two before the conflicts, none during them).
    let left = taken(take(&store, PREFIX, &slot("a", 20), &SPEC, T0 + 3, 3)).0.remaining;
    assert_eq!(left, 2);
}

#[test]
fn unreadable_slots_are_taken_over_and_reported() {
    let store = FakeStore::default();
    let first = probes("d:user=a", 20).next().unwrap();
    store.data.borrow_mut().insert(format!("{PREFIX}{first}"), (b"junk".to_vec(), 7));
    match take(&store, PREFIX, &slot("a", 20), &SPEC, T0, 10) {
        Checked::Taken { take, repaired, evicted } => assert!(take.allowed && repaired && !evicted),
        other => panic!("{other:?}"),
    }
    assert_eq!(table_keys(&store), 1);
}

#[test]
fn prepared_slots_are_empty_and_claimed_by_compare_and_swap() {
    let store = FakeStore::default();
    assert_eq!(prepare(&store, PREFIX, 20), Ok(20));
    assert_eq!(table_keys(&store), 20);
    assert!(allowed(&store, "a", 20, T0));
    // Preparing again (another worker, a new configuration) leaves the slots in use alone.
    assert_eq!(prepare(&store, PREFIX, 20), Ok(0));
    let left = taken(take(&store, PREFIX, &slot("a", 20), &SPEC, T0, 10)).0.remaining;
    assert_eq!(left, 3);
    match take(&store, PREFIX, &slot("b", 20), &SPEC, T0, 10) {
        Checked::Taken { repaired, evicted, .. } => assert!(!repaired && !evicted, "an empty slot is free"),
        other => panic!("{other:?}"),
    }
    // Two descriptors racing for the same empty slot: the loser's CAS fails and it looks again.
    let contested = FakeStore::default();
    prepare(&contested, PREFIX, 1).unwrap();
    contested.conflicts.set(1);
    assert!(allowed(&contested, "c", 1, T0));
    assert_eq!(table_keys(&contested), 1);
}
