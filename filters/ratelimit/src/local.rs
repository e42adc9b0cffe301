//! Local mode: which buckets a request takes from, and the decision.
//!
//! As Envoy's `local_ratelimit`: each descriptor of the request is matched against the
//! configured `descriptors` (same keys in the same order; values equal, or the pattern has
//! none). Matched buckets are taken from in descriptor order, then the default bucket when
//! nothing matched or `always_consume_default_token_bucket` is set. The first bucket without a
//! token denies the request; buckets after it are not touched, tokens taken before it are not
//! returned (as Envoy).
//!
//! A pattern with every value given has one bucket (one key). A pattern without a value keeps
//! the bucket of each value in its bounded table ([`crate::table`]).

use std::rc::Rc;

use crate::actions::Descriptor;
use crate::bucket::{BucketSpec, Take};
use crate::config::{Config, DescriptorBucket, OnContention};
use crate::keys;
use crate::store::{BucketStore, Checked, take_token};
use crate::table::{self, SlotRef};

/// One bucket to take from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRef {
    /// Shared-data key; for a value-less pattern's descriptor, the key prefix of its table.
    pub key: Rc<str>,
    /// Parameters.
    pub spec: BucketSpec,
    /// The descriptor of a value-less pattern, found in its table (`None`: a bucket of its own).
    pub slot: Option<SlotRef>,
}

/// Whether `pattern` matches `descriptor`.
pub fn matches(pattern: &DescriptorBucket, descriptor: &Descriptor) -> bool {
    pattern.entries.len() == descriptor.len()
        && pattern.entries.iter().zip(descriptor).all(|(p, (key, value))| {
            p.key == *key && p.value.as_deref().is_none_or(|v| v.is_empty() || v == value)
        })
}

/// The buckets a request with these descriptors takes from, without duplicates.
pub fn buckets(config: &Config, descriptors: &[Descriptor]) -> Vec<BucketRef> {
    let mut out: Vec<BucketRef> = Vec::new();
    let mut push = |bucket: BucketRef| {
        if !out.iter().any(|b| b.key == bucket.key && b.slot == bucket.slot) {
            out.push(bucket);
        }
    };
    let mut matched = false;
    for descriptor in descriptors {
        if let Some(pattern) = config.descriptors.iter().find(|p| matches(p, descriptor)) {
            matched = true;
            let spec = pattern.token_bucket.spec();
            if pattern.is_dynamic() {
                let slots = config.max_dynamic_descriptors;
                let key = keys::table_prefix(&config.scope, &spec, slots, pattern).into();
                let slot = SlotRef { descriptor: keys::descriptor_form(descriptor), slots };
                push(BucketRef { key, spec, slot: Some(slot) });
            } else {
                let key = keys::descriptor_key(&config.scope, &spec, descriptor).into();
                push(BucketRef { key, spec, slot: None });
            }
        }
    }
    if let Some(default) = &config.token_bucket
        && (!matched || config.always_consume_default_token_bucket)
    {
        let spec = default.spec();
        let key = config.default_key.get_or_init(|| keys::default_key(&config.scope, &spec).into());
        push(BucketRef { key: key.clone(), spec, slot: None });
    }
    out
}

/// What the limit headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// `x-ratelimit-limit`.
    pub limit: u32,
    /// `x-ratelimit-remaining`.
    pub remaining: u32,
    /// Nanoseconds until more tokens (`x-ratelimit-reset`, `retry-after`).
    pub reset_ns: u64,
}

impl From<Take> for Report {
    fn from(t: Take) -> Report {
        Report { limit: t.limit, remaining: t.remaining, reset_ns: t.reset_ns }
    }
}

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Let the request through.
    pub allowed: bool,
    /// The bucket that denied, else the one with the fewest tokens left; `None` when no
    /// bucket applied.
    pub report: Option<Report>,
    /// Buckets whose update was given up after `max_cas_attempts` (`ratelimit.contention`).
    pub contention: u32,
    /// Shared-data failures and unreadable buckets (`ratelimit.errors`).
    pub errors: u32,
    /// Table slots taken over from a descriptor whose bucket was not full
    /// (`ratelimit.descriptors_evicted`).
    pub evictions: u32,
}

/// Takes from each bucket in order and decides.
pub fn decide(store: &dyn BucketStore, config: &Config, buckets: &[BucketRef], now_ns: u64) -> Verdict {
    let mut verdict = Verdict { allowed: true, ..Verdict::default() };
    for bucket in buckets {
        let attempts = config.max_cas_attempts;
        let checked = match &bucket.slot {
            None => take_token(store, &bucket.key, &bucket.spec, now_ns, attempts),
            Some(slot) => table::take(store, &bucket.key, slot, &bucket.spec, now_ns, attempts),
        };
        let take = match checked {
            Checked::Taken { take, repaired, evicted } => {
                verdict.evictions += u32::from(evicted);
                if repaired {
                    log::warn!(
                        "ratelimit: bucket {} held unreadable bytes; replaced by a full bucket",
                        bucket.key
                    );
                    verdict.errors += 1;
                }
                take
            }
            failure => {
                match failure {
                    Checked::Failed(status) => {
                        log::error!("ratelimit: shared data refused bucket {}: {status:?}", bucket.key);
                        verdict.errors += 1;
                    }
                    _ => {
                        log::warn!("ratelimit: bucket {} contended past max_cas_attempts", bucket.key);
                        verdict.contention += 1;
                    }
                }
                if config.on_contention == OnContention::Allow {
                    continue;
                }
                // Deny without knowing the count: report an empty bucket, one interval to go.
                Take {
                    allowed: false,
                    limit: bucket.spec.max_tokens,
                    remaining: 0,
                    reset_ns: bucket.spec.fill_interval_ns,
                }
            }
        };
        let report = Report::from(take);
        if !take.allowed {
            verdict.allowed = false;
            verdict.report = Some(report);
            return verdict;
        }
        if verdict.report.is_none_or(|r| report.remaining < r.remaining) {
            verdict.report = Some(report);
        }
    }
    verdict
}

/// The buckets of one configuration.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// The configuration (its CAS attempts and `on_contention` apply to its buckets).
    pub config: &'a Config,
    /// Its buckets, in order.
    pub buckets: Vec<BucketRef>,
}

/// The decision when several configurations apply to a request (its path's readings select
/// several rules): each plan's buckets are taken from in turn, a bucket charged by an earlier
/// plan is not charged again, and the first plan that denies decides (later plans are not
/// touched). Returns the verdict and the index of the plan whose bucket it reports.
pub fn decide_each(store: &dyn BucketStore, plans: &[Plan<'_>], now_ns: u64) -> (Verdict, usize) {
    let mut total = Verdict { allowed: true, ..Verdict::default() };
    let mut reported = 0;
    let mut charged: Vec<&BucketRef> = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let fresh: Vec<BucketRef> = plan.buckets.iter().filter(|b| !charged.contains(b)).cloned().collect();
        charged.extend(plan.buckets.iter());
        let verdict = decide(store, plan.config, &fresh, now_ns);
        total.contention += verdict.contention;
        total.errors += verdict.errors;
        total.evictions += verdict.evictions;
        if let Some(report) = verdict.report
            && (!verdict.allowed || total.report.is_none_or(|r| report.remaining < r.remaining))
        {
            total.report = Some(report);
            reported = i;
        }
        if !verdict.allowed {
            total.allowed = false;
            break;
        }
    }
    (total, reported)
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
