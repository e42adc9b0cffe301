//! Read-modify-write of shared data with compare-and-swap and bounded retries.

use weir_abi::Status;

use crate::host;

/// What an update function decided.
#[derive(Debug)]
pub enum Update<T> {
    /// Write these bytes (if nobody else wrote since the read) and return `T`.
    Write(Vec<u8>, T),
    /// Leave the value alone and return `T`.
    Keep(T),
}

/// Why an update did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateError {
    /// The host refused a call.
    Host(Status),
    /// Other writers won every attempt.
    Exhausted {
        /// Attempts made.
        attempts: u32,
    },
}

/// Updates `key` atomically: `f` sees the current bytes and decides; on a CAS conflict it runs
/// again with the new value, at most `max_attempts` times in all (at least once).
///
/// A key that does not exist yet is first created with `initial` (unconditionally, as the ABI
/// allows no create-if-absent; this write is not counted as an attempt) and then updated
/// through CAS like any other, which keeps concurrent first writers from overwriting each
/// other's updates except in the instant of creation.
pub fn atomic_update<T>(
    key: &str,
    initial: &[u8],
    max_attempts: u32,
    mut f: impl FnMut(&[u8]) -> Update<T>,
) -> Result<T, UpdateError> {
    let max_attempts = max_attempts.max(1);
    let mut attempts = 0;
    let mut created = false;
    while attempts < max_attempts {
        let (current, cas) = match host::shared_get(key).map_err(UpdateError::Host)? {
            Some((value, cas)) => (value.0, cas),
            None if !created => {
                host::shared_set(key, initial, 0).map_err(UpdateError::Host)?;
                created = true;
                continue;
            }
            // Written a moment ago and gone again: no host does this, so say so.
            None => return Err(UpdateError::Host(Status::NotFound)),
        };
        attempts += 1;
        match f(&current) {
            Update::Keep(result) => return Ok(result),
            Update::Write(bytes, result) => match host::shared_set(key, &bytes, cas) {
                Ok(()) => return Ok(result),
                Err(Status::CasMismatch) => continue,
                Err(other) => return Err(UpdateError::Host(other)),
            },
        }
    }
    Err(UpdateError::Exhausted { attempts: max_attempts })
}
