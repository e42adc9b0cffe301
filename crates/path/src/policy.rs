//! The spellings of a path a filter matches its policies against.
//!
//! Servers disagree on what a path means. Envoy's normalization ([`crate::normalize`]) settles
//! dot segments, case of escapes and backslashes, but leaves `%2F` (unless configured), double
//! encodings (`%252e`) and `;` parameters of ordinary segments alone, which some servers still
//! decode or strip. So a policy that protects `/admin` must also hold for the path as the most
//! lenient server would read it, and a policy must not be chosen by one reading when another
//! reading names another resource. [`views`] gives both readings; a filter applies every
//! policy they select (and so the strictest decision wins).

use crate::canon::escaped_at;
use crate::{Options, Outcome, normalize, plain};

/// Rounds of percent-decoding [`decoded`] applies (`%25252e` needs three).
const DECODE_ROUNDS: usize = 4;

/// The path (without query) as the most lenient server would read it: percent-escapes decoded
/// repeatedly, backslashes read as slashes, `;` parameters dropped from every segment, dot
/// segments resolved, repeated slashes merged. Bytes that are not UTF-8 after decoding are
/// replaced with U+FFFD.
pub fn decoded(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut bytes = path.as_bytes().to_vec();
    for _ in 0..DECODE_ROUNDS {
        match decode_once(&bytes) {
            Some(next) => bytes = next,
            None => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes).replace('\\', "/");
    let mut segments: Vec<&str> = Vec::new();
    for segment in text.split('/') {
        let name = segment.split(';').next().unwrap_or("");
        match name {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(text.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    let trailing = text.ends_with('/')
        || text.rsplit('/').next().is_some_and(|last| matches!(last.split(';').next(), Some("." | "..")));
    if out.is_empty() || (trailing && !segments.is_empty()) {
        out.push('/');
    }
    out
}

fn decode_once(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        match escaped_at(bytes, i) {
            Some(value) => {
                out.push(value);
                i += 3;
                changed = true;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// The distinct readings of `path` (without query) a policy must hold for: Envoy's
/// normalization (`normalize_path` and `merge_slashes`, escaped slashes kept; the path itself
/// when normalization leaves it alone), then [`decoded`]. One element when they agree. A path
/// normalization refuses (a NUL) has only its decoded reading.
///
/// Most paths are plain (no escape, backslash, dot segment, repeated slash or `;`): their one
/// reading is the path itself, found in one scan and one allocation.
pub fn views(path: &str) -> Vec<String> {
    let without_query = path.split(['?', '#']).next().unwrap_or("");
    if plain(without_query) && !without_query.contains(';') {
        return vec![without_query.to_string()];
    }
    views_of(without_query)
}

/// [`views`] without the shortcut for plain paths (`path` has no query).
pub(crate) fn views_of(path: &str) -> Vec<String> {
    let options = Options { normalize: true, merge_slashes: true, ..Options::default() };
    let mut out = Vec::with_capacity(2);
    match normalize(path, &options) {
        Outcome::Unchanged => out.push(path.to_string()),
        Outcome::Forward(normalized) | Outcome::Redirect(normalized) => out.push(normalized),
        Outcome::Reject(_) => {}
    }
    let decoded = decoded(path);
    if !out.contains(&decoded) {
        out.push(decoded);
    }
    out
}
