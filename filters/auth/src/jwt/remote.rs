//! Remote JWKS state per provider (per worker VM): the keys in use, the fetch in flight, when
//! to fetch next, and the requests waiting for a first JWKS. Pure bookkeeping; the root
//! context makes the calls (`root.rs`).
//!
//! - A fetch starts at configuration, again `cache_duration` after a success, and
//!   `failed_refetch` after a failure. A failed refresh keeps the previous keys.
//! - A token whose provider has no keys yet **waits**: its request is paused and resumed by
//!   the outcome of the next fetch attempt (verified with the new keys, or refused with 401
//!   "Jwks remote fetch is failed"). At most `max_pending_requests` wait; more are refused.

use std::rc::Rc;

use crate::authn::Waiting;
use crate::jwt::jwks::KeySet;
use crate::jwt::provider::{Keys, Remote};
use crate::settings::Settings;

/// A paused request.
#[derive(Debug, Clone)]
pub struct Waiter {
    /// Its HTTP context.
    pub context_id: u32,
    /// What it waits with.
    pub waiting: Waiting,
}

#[derive(Debug)]
struct State {
    source: Remote,
    keys: Option<Rc<KeySet>>,
    in_flight: Option<u32>,
    next_fetch_ms: u64,
    waiters: Vec<Waiter>,
}

/// The outcome of a fetch for the waiting requests.
#[derive(Debug)]
pub struct Settled {
    /// Provider index.
    pub provider: usize,
    /// Requests to resume.
    pub waiters: Vec<Waiter>,
    /// The keys to resume them with (`None`: refuse them).
    pub keys: Option<Rc<KeySet>>,
}

/// Too many requests wait for a JWKS already (`max_pending_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// Remote JWKS state, indexed like the providers (`None` for inline ones).
#[derive(Debug, Default)]
pub struct Cache {
    states: Vec<Option<State>>,
}

impl Cache {
    /// Empty state for every remote provider: each is due for a fetch at once.
    pub fn new(settings: &Settings) -> Cache {
        let providers = settings.jwt.iter().flat_map(|j| &j.providers);
        let states = providers
            .map(|p| match &p.keys {
                Keys::Remote(source) => Some(State {
                    source: source.clone(),
                    keys: None,
                    in_flight: None,
                    next_fetch_ms: 0,
                    waiters: Vec::new(),
                }),
                Keys::Local(_) => None,
            })
            .collect();
        Cache { states }
    }

    /// The keys of remote provider `provider`, once fetched.
    pub fn keys(&self, provider: usize) -> Option<Rc<KeySet>> {
        self.states.get(provider)?.as_ref()?.keys.clone()
    }

    /// Providers to fetch now, with their source.
    pub fn due(&self, now_ms: u64) -> Vec<(usize, Remote)> {
        self.states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                (s.in_flight.is_none() && now_ms >= s.next_fetch_ms).then(|| (i, s.source.clone()))
            })
            .collect()
    }

    /// A fetch for `provider` started with callout `token`.
    pub fn started(&mut self, provider: usize, token: u32) {
        if let Some(Some(s)) = self.states.get_mut(provider) {
            s.in_flight = Some(token);
        }
    }

    /// Whether `token` is one of our fetches.
    pub fn owns(&self, token: u32) -> bool {
        self.states.iter().flatten().any(|s| s.in_flight == Some(token))
    }

    /// A fetch could not start: retry later; the waiters get what keys there are (none).
    pub fn start_failed(&mut self, provider: usize, now_ms: u64) -> Option<Settled> {
        let s = self.states.get_mut(provider)?.as_mut()?;
        s.next_fetch_ms = now_ms.saturating_add(s.source.failed_refetch_ms);
        Some(Settled { provider, waiters: std::mem::take(&mut s.waiters), keys: s.keys.clone() })
    }

    /// The fetch `token` finished: keep the keys (or the old ones), schedule the next fetch,
    /// and hand back the waiters. `None` when the token is not ours.
    pub fn completed(&mut self, token: u32, result: Result<KeySet, String>, now_ms: u64) -> Option<Settled> {
        let (provider, s) = self
            .states
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.as_mut().filter(|s| s.in_flight == Some(token)).map(|s| (i, s)))?;
        s.in_flight = None;
        let delay = match result {
            Ok(keys) => {
                s.keys = Some(Rc::new(keys));
                s.source.cache_duration_ms
            }
            Err(_) => s.source.failed_refetch_ms,
        };
        s.next_fetch_ms = now_ms.saturating_add(delay);
        Some(Settled { provider, waiters: std::mem::take(&mut s.waiters), keys: s.keys.clone() })
    }

    /// Parks a request until its provider's next fetch; refused when too many wait already.
    pub fn wait(&mut self, context_id: u32, waiting: Waiting) -> Result<(), QueueFull> {
        match self.states.get_mut(waiting.provider) {
            Some(Some(s)) if s.waiters.len() < s.source.max_pending => {
                s.waiters.push(Waiter { context_id, waiting });
                Ok(())
            }
            _ => Err(QueueFull),
        }
    }

    /// Forgets a request that went away while waiting.
    pub fn forget(&mut self, context_id: u32) {
        for s in self.states.iter_mut().flatten() {
            s.waiters.retain(|w| w.context_id != context_id);
        }
    }

    /// Every waiting request (when the configuration is replaced).
    pub fn take_waiters(&mut self) -> Vec<Waiter> {
        self.states.iter_mut().flatten().flat_map(|s| std::mem::take(&mut s.waiters)).collect()
    }

    /// Number of waiting requests.
    pub fn waiting(&self) -> usize {
        self.states.iter().flatten().map(|s| s.waiters.len()).sum()
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
