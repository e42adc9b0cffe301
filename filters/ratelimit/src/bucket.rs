//! Token bucket arithmetic and the bucket's shared-data encoding. Pure functions of the stored
//! state and the current time, so one CAS update can refill and take in a single step.
//!
//! Fills are discrete, as Envoy's `TokenBucket` describes them: every `fill_interval` after
//! `last_refill`, `tokens_per_fill` tokens are added, never above `max_tokens`. Refills are
//! lazy: a request that finds `n` whole intervals elapsed adds `n * tokens_per_fill` and moves
//! `last_refill` forward by `n` intervals (keeping the phase, so no partial interval is lost).

/// A bucket's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BucketSpec {
    /// Capacity and initial tokens.
    pub max_tokens: u32,
    /// Tokens per fill (at least 1).
    pub tokens_per_fill: u32,
    /// Nanoseconds between fills (at least 1).
    pub fill_interval_ns: u64,
}

/// What shared data holds for a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketState {
    /// Tokens left.
    pub tokens: u32,
    /// Time of the last fill (ns since the Unix epoch; the creation time at first).
    pub last_refill_ns: u64,
}

/// Encoding version byte.
const FORMAT: u8 = 1;

/// Encoded size: version, tokens (u32 LE), last refill (u64 LE).
pub const ENCODED_LEN: usize = 13;

impl BucketState {
    /// A full bucket created at `now`.
    pub fn full(spec: &BucketSpec, now_ns: u64) -> BucketState {
        BucketState { tokens: spec.max_tokens, last_refill_ns: now_ns }
    }

    /// `[1, tokens u32 LE, last_refill u64 LE]`.
    pub fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut out = [0u8; ENCODED_LEN];
        out[0] = FORMAT;
        out[1..5].copy_from_slice(&self.tokens.to_le_bytes());
        out[5..13].copy_from_slice(&self.last_refill_ns.to_le_bytes());
        out
    }

    /// The state, or `None` for bytes that are not an encoded bucket.
    pub fn decode(bytes: &[u8]) -> Option<BucketState> {
        let bytes: &[u8; ENCODED_LEN] = bytes.try_into().ok()?;
        if bytes[0] != FORMAT {
            return None;
        }
        let tokens = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let mut last = [0u8; 8];
        last.copy_from_slice(&bytes[5..13]);
        Some(BucketState { tokens, last_refill_ns: u64::from_le_bytes(last) })
    }
}

/// The result of taking from a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// A token was taken.
    pub allowed: bool,
    /// The bucket's capacity.
    pub limit: u32,
    /// Tokens left after this request.
    pub remaining: u32,
    /// Nanoseconds until the next fill.
    pub reset_ns: u64,
}

/// Adds the fills that are due at `now`. A clock that went backwards adds nothing and restarts
/// the current interval at `now` (so a step back of an hour delays the next fill by at most
/// one interval, not by an hour).
pub fn refill(spec: &BucketSpec, state: BucketState, now_ns: u64) -> BucketState {
    if now_ns < state.last_refill_ns {
        return BucketState { tokens: state.tokens, last_refill_ns: now_ns };
    }
    let interval = spec.fill_interval_ns.max(1);
    let fills = (now_ns - state.last_refill_ns) / interval;
    if fills == 0 {
        return state;
    }
    let added = fills.saturating_mul(u64::from(spec.tokens_per_fill));
    let tokens = u64::from(state.tokens).saturating_add(added).min(u64::from(spec.max_tokens));
    BucketState {
        tokens: u32::try_from(tokens).unwrap_or(spec.max_tokens),
        last_refill_ns: state.last_refill_ns.saturating_add(fills.saturating_mul(interval)),
    }
}

/// Refills, then takes `hits` tokens if there are that many. Returns the new state and what
/// happened; the state equals the input when nothing changed (no write needed).
pub fn take(spec: &BucketSpec, state: BucketState, now_ns: u64, hits: u32) -> (BucketState, Take) {
    let mut state = refill(spec, state, now_ns);
    // A stored value above capacity cannot come from this spec (the key includes it); clamp.
    state.tokens = state.tokens.min(spec.max_tokens);
    let allowed = state.tokens >= hits;
    if allowed {
        state.tokens -= hits;
    }
    let interval = spec.fill_interval_ns.max(1);
    let next_fill = state.last_refill_ns.saturating_add(interval);
    let reset_ns = next_fill.saturating_sub(now_ns).min(interval);
    (state, Take { allowed, limit: spec.max_tokens, remaining: state.tokens, reset_ns })
}

/// Whole seconds, rounded up (`x-ratelimit-reset`, `retry-after`).
pub fn ceil_secs(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn spec(max: u32, per_fill: u32, interval: u64) -> BucketSpec {
        BucketSpec { max_tokens: max, tokens_per_fill: per_fill, fill_interval_ns: interval }
    }

    #[test]
    fn a_new_bucket_gives_max_tokens_then_denies() {
        let s = spec(2, 1, 3600 * SEC);
        let t0 = 1_700_000_000 * SEC;
        let mut state = BucketState::full(&s, t0);
        let mut results = Vec::new();
        for i in 0..3 {
            let (next, t) = take(&s, state, t0 + i * 1_000_000, 1);
            state = next;
            results.push((t.allowed, t.remaining));
        }
        assert_eq!(results, [(true, 1), (true, 0), (false, 0)]);
        let (_, t) = take(&s, state, t0 + 5_000_000, 1);
        assert_eq!(ceil_secs(t.reset_ns), 3600);
    }

    #[test]
    fn fills_are_discrete_keep_their_phase_and_cap_at_max() {
        let s = spec(10, 3, SEC);
        let empty = BucketState { tokens: 0, last_refill_ns: 100 * SEC };
        // Not a whole interval yet: nothing.
        assert_eq!(refill(&s, empty, 100 * SEC + SEC - 1), empty);
        // 2.5 intervals: two fills, phase kept at +2 s.
        let r = refill(&s, empty, 102 * SEC + SEC / 2);
        assert_eq!(r, BucketState { tokens: 6, last_refill_ns: 102 * SEC });
        // A long idle time fills to max only.
        let r = refill(&s, empty, 10_000 * SEC);
        assert_eq!(r.tokens, 10);
        // The next fill after taking is at the kept phase.
        let (_, t) = take(&s, empty, 102 * SEC + SEC / 2, 1);
        assert_eq!((t.allowed, t.remaining, t.reset_ns), (true, 5, SEC / 2));
    }

    #[test]
    fn a_clock_going_backwards_adds_nothing_and_restarts_the_interval() {
        let s = spec(5, 5, SEC);
        let state = BucketState { tokens: 1, last_refill_ns: 3600 * SEC };
        assert_eq!(refill(&s, state, 10 * SEC), BucketState { tokens: 1, last_refill_ns: 10 * SEC });
        let (next, t) = take(&s, state, 10 * SEC, 1);
        assert_eq!(next, BucketState { tokens: 0, last_refill_ns: 10 * SEC });
        assert!(t.allowed);
        assert_eq!(t.reset_ns, SEC);
        // One interval after the step back, the fill comes (not an hour later).
        assert_eq!(refill(&s, next, 11 * SEC).tokens, 5);
    }

    #[test]
    fn a_denied_take_changes_nothing() {
        let s = spec(1, 1, SEC);
        let state = BucketState { tokens: 0, last_refill_ns: 7 * SEC };
        let (next, t) = take(&s, state, 7 * SEC + 10, 1);
        assert_eq!(next, state);
        assert!(!t.allowed);
        assert_eq!(ceil_secs(t.reset_ns), 1);
    }

    #[test]
    fn huge_numbers_saturate() {
        let s = spec(u32::MAX, u32::MAX, 1);
        let state = BucketState { tokens: 0, last_refill_ns: 0 };
        let r = refill(&s, state, u64::MAX);
        assert_eq!(r.tokens, u32::MAX);
        let (_, t) = take(&s, BucketState { tokens: u32::MAX, last_refill_ns: 0 }, 0, 1);
        assert_eq!(t.remaining, u32::MAX - 1);
    }

    #[test]
    fn the_encoding_round_trips_and_refuses_garbage() {
        let state = BucketState { tokens: 42, last_refill_ns: 1_700_000_000_123_456_789 };
        let bytes = state.encode();
        assert_eq!(bytes.len(), ENCODED_LEN);
        assert_eq!(bytes[0], 1);
        assert_eq!(BucketState::decode(&bytes), Some(state));
        assert_eq!(BucketState::decode(&bytes[..12]), None);
        assert_eq!(BucketState::decode(b""), None);
        let mut wrong_version = bytes;
        wrong_version[0] = 2;
        assert_eq!(BucketState::decode(&wrong_version), None);
    }
}
