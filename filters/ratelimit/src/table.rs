//! The bounded table of a value-less descriptor pattern.
//!
//! A pattern without a value (`{"key": "remote_address"}`) gives every distinct value its own
//! bucket. One shared-data key per value would grow without bound (proxy-wasm shared data has
//! no delete), so such buckets live in a table of `max_dynamic_descriptors` slots per pattern
//! (Envoy's field and default, 20). A slot is one key (see [`crate::keys`]); its value is the
//! bucket and the descriptor that owns it:
//!
//! ```text
//! [2 (format), tokens: u32 LE, last_refill: u64 LE, the descriptor's d:/h: form]
//! ```
//!
//! A descriptor may live in [`PROBES`] consecutive slots from the hash of its form. Taking a
//! token reads them in order and uses the first that holds the descriptor. When none does,
//! the descriptor takes over one of them, the first that costs the least:
//!
//! 1. a slot never written (or unreadable), or one whose bucket has refilled to full: free,
//!    since a full bucket is exactly what its descriptor would start with again;
//! 2. else the slot whose bucket lacks the fewest tokens now (its owner starts over with a
//!    full bucket if it comes back, so the eviction hands it back what it lacked), and of
//!    equals the youngest (the one created or refilled last). `ratelimit.descriptors_evicted`
//!    counts these.
//!
//! The rule keeps the state that matters. A client at its limit holds an empty bucket, the
//! last to go; a flood of new values, each taking a token or two, takes over the slots of
//! other such values, the newest first, so the client that came before them keeps its count
//! even while it has used one token only; an idle client's slot is reused at no cost once
//! refilled. Under Envoy's LRU a flood of new values evicts whichever entry was used least
//! recently, which may be a client held at its limit.
//!
//! Every write is a compare-and-swap on the value read, so two workers never both take over
//! the same slot; a conflict starts the lookup again (at most `max_cas_attempts` times). For
//! that, the slots must exist before requests claim them: a key that does not exist has no
//! CAS to compare against (the ABI creates keys unconditionally), and a late unconditional
//! claim would wipe another descriptor's bucket. So the root context creates every slot of
//! every table, empty, when it is configured ([`prepare`]). A slot found missing anyway is
//! claimed unconditionally: the first-use race of a bucket, see the README.

use crate::bucket::{self, BucketSpec, BucketState, ENCODED_LEN};
use crate::store::{BucketStore, Checked};

/// Slots a descriptor may live in (fewer when the table is smaller).
pub const PROBES: u32 = 4;

/// The format byte of a slot (a plain bucket's is 1).
const SLOT_FORMAT: u8 = 2;

/// The value of a slot no descriptor holds yet.
pub const EMPTY: [u8; 1] = [SLOT_FORMAT];

/// Creates the slots of the table at `prefix` that do not exist yet, empty; returns how many
/// it created. Existing slots are left as they are (another worker, or an earlier
/// configuration with the same table, may be using them).
pub fn prepare(store: &dyn BucketStore, prefix: &str, slots: u32) -> Result<u32, weir_sdk::Status> {
    let mut created = 0;
    for i in 0..slots {
        let key = format!("{prefix}{i}");
        if store.get(&key)?.is_none() {
            store.set(&key, &EMPTY, 0)?;
            created += 1;
        }
    }
    Ok(created)
}

/// A descriptor matched by a value-less pattern: where its table is and what it is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRef {
    /// The descriptor's form ([`crate::keys::descriptor_form`]).
    pub descriptor: String,
    /// Slots in the table (`max_dynamic_descriptors`).
    pub slots: u32,
}

/// A slot's value: `bucket` owned by `descriptor`.
pub fn encode(bucket: &BucketState, descriptor: &str) -> Vec<u8> {
    let mut out = bucket.encode().to_vec();
    out[0] = SLOT_FORMAT;
    out.extend_from_slice(descriptor.as_bytes());
    out
}

/// The bucket and the owner's form of a slot's value, or `None` for bytes that are not one.
pub fn decode(bytes: &[u8]) -> Option<(BucketState, &[u8])> {
    let (head, descriptor) = bytes.split_at_checked(ENCODED_LEN)?;
    if head[0] != SLOT_FORMAT || descriptor.is_empty() {
        return None;
    }
    let mut plain = [0u8; ENCODED_LEN];
    plain.copy_from_slice(head);
    plain[0] = 1;
    BucketState::decode(&plain).map(|state| (state, descriptor))
}

/// The slots `descriptor` may live in, in probing order.
pub fn probes(descriptor: &str, slots: u32) -> impl Iterator<Item = u32> {
    let slots = slots.max(1);
    let start = hash(descriptor.as_bytes()) % u64::from(slots);
    let start = u32::try_from(start).unwrap_or(0);
    (0..PROBES.min(slots)).map(move |i| (start + i) % slots)
}

/// Spreads descriptors over the table (XXH3; not a secret: see the README).
fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// What taking over a slot holding `state` costs at `now`: the tokens its bucket lacks (0:
/// full, free to take), and then, to prefer the youngest of equals, the time of its last fill
/// negated.
pub fn eviction_cost(spec: &BucketSpec, state: BucketState, now_ns: u64) -> (u32, u64) {
    let state = bucket::refill(spec, state, now_ns);
    let missing = spec.max_tokens.saturating_sub(state.tokens);
    (missing, if missing == 0 { 0 } else { u64::MAX - state.last_refill_ns })
}

/// A slot the descriptor could take over.
struct Candidate {
    /// Position among the probes.
    at: usize,
    /// The CAS of the value read (0: the key does not exist).
    cas: u32,
    /// What taking it over costs ([`eviction_cost`]; `(0, 0)` when free).
    cost: (u32, u64),
    /// Its value was not a slot.
    unreadable: bool,
}

/// Takes one token for `slot.descriptor` in the table whose slot keys start with `prefix`.
pub fn take(
    store: &dyn BucketStore,
    prefix: &str,
    slot: &SlotRef,
    spec: &BucketSpec,
    now_ns: u64,
    max_attempts: u32,
) -> Checked {
    let keys: Vec<String> = probes(&slot.descriptor, slot.slots).map(|i| format!("{prefix}{i}")).collect();
    let owner = slot.descriptor.as_bytes();
    let attempts = max_attempts.max(1);
    'attempt: for _ in 0..attempts {
        let mut best: Option<Candidate> = None;
        for (at, key) in keys.iter().enumerate() {
            let (bytes, cas) = match store.get(key) {
                Ok(Some(found)) => found,
                Ok(None) => (Vec::new(), 0),
                Err(status) => return Checked::Failed(status),
            };
            let candidate = match decode(&bytes) {
                Some((state, holder)) if holder == owner => {
                    let (next, take) = bucket::take(spec, state, now_ns, 1);
                    if next == state {
                        return Checked::Taken { take, repaired: false, evicted: false };
                    }
                    match store.set(key, &encode(&next, &slot.descriptor), cas) {
                        Ok(()) => return Checked::Taken { take, repaired: false, evicted: false },
                        Err(weir_sdk::Status::CasMismatch) => continue 'attempt,
                        Err(status) => return Checked::Failed(status),
                    }
                }
                Some((state, _)) => {
                    Candidate { at, cas, cost: eviction_cost(spec, state, now_ns), unreadable: false }
                }
                None => Candidate { at, cas, cost: (0, 0), unreadable: cas != 0 && bytes != EMPTY },
            };
            if best.as_ref().is_none_or(|b| candidate.cost < b.cost) {
                best = Some(candidate);
            }
        }
        let Some(best) = best else { break };
        let Some(key) = keys.get(best.at) else { break };
        let (next, take) = bucket::take(spec, BucketState::full(spec, now_ns), now_ns, 1);
        match store.set(key, &encode(&next, &slot.descriptor), best.cas) {
            Ok(()) => return Checked::Taken { take, repaired: best.unreadable, evicted: best.cost.0 > 0 },
            Err(weir_sdk::Status::CasMismatch) => continue,
            Err(status) => return Checked::Failed(status),
        }
    }
    Checked::Contention { attempts }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
