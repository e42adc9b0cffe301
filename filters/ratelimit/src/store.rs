//! Taking a token from a bucket in shared data: one compare-and-swap update that decodes the
//! state, refills it lazily and takes, through [`weir_sdk::shared::atomic_update`]. The store
//! is a trait so the decision logic runs natively against a fake in tests.

use weir_sdk::Status;
use weir_sdk::shared::{Update, UpdateError, atomic_update};

use crate::bucket::{self, BucketSpec, BucketState, Take};

/// Shared data as buckets use it: read-modify-write of one key with CAS, as `atomic_update`
/// does it, and plain gets and CAS sets for the descriptor tables ([`crate::table`]).
pub trait BucketStore {
    /// The value of `key` and its CAS, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, Status>;

    /// Writes `key` if its CAS is still `cas` (0: unconditionally; a key that does not exist is
    /// written whatever `cas` says, as both hosts do).
    fn set(&self, key: &str, value: &[u8], cas: u32) -> Result<(), Status>;

    /// Runs `f` on the current bytes (creating the key with `initial` first if absent) and
    /// writes what it returns, retrying on CAS conflicts up to `max_attempts` times.
    fn update(
        &self,
        key: &str,
        initial: &[u8],
        max_attempts: u32,
        f: &mut dyn FnMut(&[u8]) -> Update<Take>,
    ) -> Result<Take, UpdateError>;
}

/// Proxy-wasm shared data of the plugin's `vm_id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedData;

impl BucketStore for SharedData {
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, Status> {
        weir_sdk::host::shared_get(key).map(|found| found.map(|(value, cas)| (value.0, cas)))
    }

    fn set(&self, key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
        weir_sdk::host::shared_set(key, value, cas)
    }

    fn update(
        &self,
        key: &str,
        initial: &[u8],
        max_attempts: u32,
        f: &mut dyn FnMut(&[u8]) -> Update<Take>,
    ) -> Result<Take, UpdateError> {
        atomic_update(key, initial, max_attempts, f)
    }
}

/// What happened to one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The bucket was read and updated (or left alone): the take's result. `repaired` when the
    /// stored bytes were not a bucket and a full one replaced them.
    Taken {
        /// Result of the take.
        take: Take,
        /// The stored value was unreadable and was replaced.
        repaired: bool,
        /// A descriptor table slot was taken over from another descriptor whose bucket was
        /// not full (that descriptor starts over with a full bucket when it comes back).
        evicted: bool,
    },
    /// Other writers won every attempt.
    Contention {
        /// Attempts made.
        attempts: u32,
    },
    /// Shared data refused a call.
    Failed(Status),
}

/// Takes one token from the bucket at `key`, refilling it first, in one CAS update.
pub fn take_token(
    store: &dyn BucketStore,
    key: &str,
    spec: &BucketSpec,
    now_ns: u64,
    max_attempts: u32,
) -> Checked {
    let initial = BucketState::full(spec, now_ns).encode();
    let mut repaired = false;
    let mut f = |current: &[u8]| -> Update<Take> {
        let (state, fresh) = match BucketState::decode(current) {
            Some(state) => (state, false),
            None => (BucketState::full(spec, now_ns), true),
        };
        repaired = fresh;
        let (next, take) = bucket::take(spec, state, now_ns, 1);
        if next == state && !fresh { Update::Keep(take) } else { Update::Write(next.encode().to_vec(), take) }
    };
    let result = store.update(key, &initial, max_attempts, &mut f);
    match result {
        Ok(take) => Checked::Taken { take, repaired, evicted: false },
        Err(UpdateError::Exhausted { attempts }) => Checked::Contention { attempts },
        Err(UpdateError::Host(status)) => Checked::Failed(status),
    }
}

/// A store in memory with the ABI's CAS rules and injectable conflicts, for native tests.
#[cfg(test)]
pub mod fake {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;

    use super::*;

    /// Keys to `(bytes, cas)`; `conflicts` CAS writes fail before any succeeds.
    #[derive(Default)]
    pub struct FakeStore {
        pub data: RefCell<HashMap<String, (Vec<u8>, u32)>>,
        pub conflicts: Cell<u32>,
        pub fail_with: Cell<Option<Status>>,
        next_cas: Cell<u32>,
    }

    impl FakeStore {
        fn write(&self, key: &str, bytes: Vec<u8>, cas: u32) -> Result<(), Status> {
            let mut data = self.data.borrow_mut();
            if let Some((_, current)) = data.get(key)
                && cas != 0
                && (cas != *current || self.conflicts.get() > 0)
            {
                self.conflicts.set(self.conflicts.get().saturating_sub(1));
                return Err(Status::CasMismatch);
            }
            self.next_cas.set(self.next_cas.get() + 1);
            data.insert(key.to_string(), (bytes, self.next_cas.get()));
            Ok(())
        }
    }

    impl BucketStore for FakeStore {
        fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, Status> {
            match self.fail_with.get() {
                Some(status) => Err(status),
                None => Ok(self.data.borrow().get(key).cloned()),
            }
        }

        fn set(&self, key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
            match self.fail_with.get() {
                Some(status) => Err(status),
                None => self.write(key, value.to_vec(), cas),
            }
        }

        fn update(
            &self,
            key: &str,
            initial: &[u8],
            max_attempts: u32,
            f: &mut dyn FnMut(&[u8]) -> Update<Take>,
        ) -> Result<Take, UpdateError> {
            if let Some(status) = self.fail_with.get() {
                return Err(UpdateError::Host(status));
            }
            // The same loop as `weir_sdk::shared::atomic_update`.
            for _ in 0..max_attempts.max(1) {
                let current = self.data.borrow().get(key).cloned();
                let Some((bytes, cas)) = current else {
                    self.write(key, initial.to_vec(), 0).map_err(UpdateError::Host)?;
                    continue;
                };
                match f(&bytes) {
                    Update::Keep(take) => return Ok(take),
                    Update::Write(next, take) => match self.write(key, next, cas) {
                        Ok(()) => return Ok(take),
                        Err(Status::CasMismatch) => continue,
                        Err(other) => return Err(UpdateError::Host(other)),
                    },
                }
            }
            Err(UpdateError::Exhausted { attempts: max_attempts.max(1) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeStore;
    use super::*;

    const SPEC: BucketSpec =
        BucketSpec { max_tokens: 2, tokens_per_fill: 1, fill_interval_ns: 1_000_000_000 };

    fn allowed(c: Checked) -> Option<bool> {
        match c {
            Checked::Taken { take, .. } => Some(take.allowed),
            _ => None,
        }
    }

    #[test]
    fn takes_refill_in_the_same_update() {
        let store = FakeStore::default();
        let t0 = 1_000_000_000_000;
        let results: Vec<_> = (0..3).map(|_| allowed(take_token(&store, "k", &SPEC, t0, 4))).collect();
        assert_eq!(results, [Some(true), Some(true), Some(false)]);
        // One second later one token is back; nothing else wrote in between.
        assert_eq!(allowed(take_token(&store, "k", &SPEC, t0 + 1_000_000_000, 4)), Some(true));
        assert_eq!(allowed(take_token(&store, "k", &SPEC, t0 + 1_000_000_000, 4)), Some(false));
    }

    #[test]
    fn conflicts_are_retried_and_exhaustion_is_reported() {
        let store = FakeStore::default();
        assert_eq!(allowed(take_token(&store, "k", &SPEC, 10, 4)), Some(true));
        store.conflicts.set(3);
        assert_eq!(allowed(take_token(&store, "k", &SPEC, 10, 4)), Some(true));
        store.conflicts.set(4);
        // The bucket is empty now: a denial writes nothing, so conflicts cannot matter.
        assert_eq!(allowed(take_token(&store, "k", &SPEC, 10, 4)), Some(false));
        assert_eq!(store.conflicts.get(), 4);
        // A second later a token is due: the write loses all four attempts.
        assert_eq!(take_token(&store, "k", &SPEC, 1_000_000_010, 4), Checked::Contention { attempts: 4 });
        store.fail_with.set(Some(Status::InternalFailure));
        assert_eq!(take_token(&store, "k", &SPEC, 10, 4), Checked::Failed(Status::InternalFailure));
    }

    #[test]
    fn creating_a_bucket_uses_one_attempt() {
        // atomic_update writes the initial value, then needs another attempt to take.
        let store = FakeStore::default();
        assert_eq!(take_token(&store, "k", &SPEC, 10, 1), Checked::Contention { attempts: 1 });
        assert_eq!(allowed(take_token(&store, "k2", &SPEC, 10, 2)), Some(true));
    }

    #[test]
    fn unreadable_state_is_replaced_by_a_full_bucket() {
        let store = FakeStore::default();
        store.data.borrow_mut().insert("k".into(), (b"garbage".to_vec(), 1));
        match take_token(&store, "k", &SPEC, 10, 4) {
            Checked::Taken { take, repaired, .. } => {
                assert!(repaired);
                assert_eq!((take.allowed, take.remaining), (true, 1));
            }
            other => panic!("{other:?}"),
        }
        let stored = store.data.borrow().get("k").map(|(b, _)| b.clone()).unwrap();
        assert_eq!(BucketState::decode(&stored), Some(BucketState { tokens: 1, last_refill_ns: 10 }));
    }
}
