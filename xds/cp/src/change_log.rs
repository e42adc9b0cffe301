//! The names the recent changes of one resource type touched. A stream that knows the type's
//! version its last response was computed at asks which names changed since, and compares
//! those alone with what its node holds: a push of one assignment costs a stream one name,
//! not every name it subscribes to. When the log does not reach back that far (it is bounded,
//! and not persisted), the stream compares everything, as on its first response.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// Most changes kept.
pub const MAX_CHANGES: usize = 64;
/// Most names kept, over all kept changes; a change touching more is not logged (a stream
/// behind it compares everything).
pub const MAX_NAMES: usize = 4096;

/// One change: the type moved from version `from` to `to`, touching `names`.
#[derive(Debug, Clone)]
struct Logged {
    from: u64,
    to: u64,
    names: Arc<[String]>,
}

/// See the module. Cheap to clone: the names are shared.
#[derive(Debug, Clone, Default)]
pub struct ChangeLog {
    changes: VecDeque<Logged>,
    names: usize,
}

impl ChangeLog {
    /// The type moved from `from` to `to`, changing or removing `names`.
    pub fn record(&mut self, from: u64, to: u64, names: Vec<String>) {
        if names.len() > MAX_NAMES {
            self.changes.clear();
            self.names = 0;
            return;
        }
        self.names += names.len();
        self.changes.push_back(Logged { from, to, names: names.into() });
        while self.changes.len() > MAX_CHANGES || self.names > MAX_NAMES {
            match self.changes.pop_front() {
                Some(oldest) => self.names -= oldest.names.len(),
                None => break,
            }
        }
    }

    /// The names changed after `version`, the type being at `current` now; `None` when the log
    /// does not cover every change since.
    pub fn since(&self, version: u64, current: u64) -> Option<BTreeSet<&str>> {
        if version > current {
            return None;
        }
        let mut names = BTreeSet::new();
        let mut reached = current;
        for change in self.changes.iter().rev() {
            if reached <= version {
                break;
            }
            if change.to != reached {
                return None;
            }
            names.extend(change.names.iter().map(String::as_str));
            reached = change.from;
        }
        // Exactly `version`: a version this table never had (another table's, say a removed
        // group's of the same name) says nothing about what changed since.
        (reached == version).then_some(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn answers_only_what_it_covers() {
        let mut log = ChangeLog::default();
        assert_eq!(log.since(0, 0), Some(BTreeSet::new()), "nothing changed");
        assert_eq!(log.since(0, 1), None, "a change it never saw");
        log.record(0, 1, names(&["a"]));
        log.record(1, 5, names(&["b", "c"]));
        assert_eq!(log.since(5, 5), Some(BTreeSet::new()));
        assert_eq!(log.since(1, 5), Some(["b", "c"].into()));
        assert_eq!(log.since(0, 5), Some(["a", "b", "c"].into()));
        assert_eq!(log.since(0, 6), None, "a change after the log's last");
        assert_eq!(log.since(6, 5), None, "a version it never had");
        log.record(7, 8, names(&["d"]));
        assert_eq!(log.since(5, 8), None, "a gap: 5 -> 7 is not logged");
        assert_eq!(log.since(7, 8), Some(["d"].into()));
        assert_eq!(log.since(6, 8), None, "6 is not a version the log passed through");
        let mut recreated = ChangeLog::default();
        recreated.record(0, 21, names(&["x"]));
        assert_eq!(recreated.since(10, 21), None, "a stream computed on another table at 10");
        assert_eq!(recreated.since(0, 21), Some(["x"].into()));
    }

    #[test]
    fn forgets_the_oldest_changes_past_its_bounds() {
        let mut log = ChangeLog::default();
        for v in 0..MAX_CHANGES as u64 + 10 {
            log.record(v, v + 1, names(&["x"]));
        }
        let last = MAX_CHANGES as u64 + 10;
        assert_eq!(log.since(0, last), None, "forgotten");
        assert_eq!(log.since(10, last), Some(["x"].into()));
        log.record(last, last + 1, vec!["n".to_string(); MAX_NAMES + 1]);
        assert_eq!(log.since(last, last + 1), None, "too large to log: compare everything");
        let big: Vec<String> = (0..MAX_NAMES).map(|i| i.to_string()).collect();
        log.record(last + 1, last + 2, big);
        log.record(last + 2, last + 3, names(&["y"]));
        assert_eq!(log.since(last + 2, last + 3), Some(["y"].into()));
        assert_eq!(log.since(last + 1, last + 3), None, "names over the bound: the oldest went");
        assert!(log.names <= MAX_NAMES);
    }
}
