//! `normalize_path`: the path canonicalization Envoy applies (Envoy uses a snapshot of
//! Chromium's URL path canonicalizer), reimplemented from its observed behaviour:
//!
//! - a segment of literal dots followed by `;` (`.;x`, `..;x`, a Tomcat path parameter) is
//!   read as the dot segment itself, the parameter dropped;
//! - `.` and `..` segments are resolved, also when spelled `%2e`/`%2E`; `..` never climbs
//!   above the root; a path that ends in a dot segment keeps its trailing slash;
//! - backslashes become slashes;
//! - escaped unreserved characters (`%41` → `A`, `%7e` → `~`, `%2d` → `-`) are decoded, other
//!   escapes are kept exactly as sent (case included), and an invalid `%` stays;
//! - characters a path must not hold raw (controls, space, `"`, `<`, `>`, `` ` ``, `^`, `{`,
//!   `|`, `}`, DEL and bytes above 127) are escaped;
//! - a NUL, raw or escaped, makes the path invalid.

use crate::split_query;

/// How a byte is treated when it appears in a path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Copied as it is, and kept escaped when sent escaped.
    Pass,
    /// Escaped in the output.
    Escape,
    /// Decoded when sent escaped (unreserved characters).
    Unescape,
    /// Never valid (NUL).
    Invalid,
}

fn class(byte: u8) -> Class {
    match byte {
        0 => Class::Invalid,
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => Class::Unescape,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'.' | b'/' | b':' | b';' | b'='
        | b'@' | b'[' | b']' => Class::Pass,
        _ => Class::Escape,
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The byte `%XY` at `at` stands for, if it is a valid escape.
pub(crate) fn escaped_at(bytes: &[u8], at: usize) -> Option<u8> {
    if bytes.get(at) != Some(&b'%') {
        return None;
    }
    let high = hex_value(*bytes.get(at + 1)?)?;
    let low = hex_value(*bytes.get(at + 2)?)?;
    Some(high << 4 | low)
}

/// Length of the dot at `at`: 1 for `.`, 3 for `%2e`/`%2E`, 0 for anything else.
fn dot_len(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'.') => 1,
        Some(b'%') if bytes.get(at + 1) == Some(&b'2') && matches!(bytes.get(at + 2), Some(b'e' | b'E')) => 3,
        _ => 0,
    }
}

fn is_slash(byte: Option<&u8>) -> bool {
    matches!(byte, Some(b'/' | b'\\'))
}

/// What a dot (already read, ending before `after`) starts.
enum Dots {
    /// Part of a name.
    Name,
    /// `.`: this directory; skip `consumed` more input bytes.
    Current(usize),
    /// `..`: the parent; skip `consumed` more input bytes.
    Parent(usize),
}

fn after_dot(bytes: &[u8], after: usize) -> Dots {
    if after == bytes.len() {
        return Dots::Current(0);
    }
    if is_slash(bytes.get(after)) {
        return Dots::Current(1);
    }
    let second = dot_len(bytes, after);
    if second > 0 {
        let end = after + second;
        if end == bytes.len() {
            return Dots::Parent(second);
        }
        if is_slash(bytes.get(end)) {
            return Dots::Parent(second + 1);
        }
    }
    Dots::Name
}

/// Drops the last segment of `out` (which ends with `/`), never the leading slash.
fn back_up(out: &mut Vec<u8>) {
    let last = out.len().saturating_sub(1);
    if last == 0 {
        return;
    }
    let parent = out[..last].iter().rposition(|b| *b == b'/').unwrap_or(0);
    out.truncate(parent + 1);
}

fn push_escaped(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[b'%', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
}

/// Rewrites segments `.;…` and `..;…` (literal dots) as `.` and `..`.
fn drop_dot_parameters(path: &str) -> std::borrow::Cow<'_, str> {
    let is_dot_parameter = |s: &str| s.starts_with(".;") || s.starts_with("..;");
    if !path.split('/').any(is_dot_parameter) {
        return std::borrow::Cow::Borrowed(path);
    }
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| if is_dot_parameter(s) { s.split(';').next().unwrap_or(s) } else { s })
        .collect();
    std::borrow::Cow::Owned(segments.join("/"))
}

/// After an escape that was decoded right behind an invalid `%` (at `percent` in `out`):
/// when the decoded character, with the next input byte if needed, makes that `%` look like a
/// valid escape, the `%` is written as `%25`, so that decoding the output again cannot give
/// something other than what was sent (`%%30%30` must not become `%00`).
fn guard_nested_escape(out: &mut Vec<u8>, percent: usize, next: Option<u8>) {
    let len = out.len();
    let decoded = out[len - 1];
    let borrow_next = percent + 2 == len;
    if borrow_next {
        match next {
            Some(byte) if byte < 0x80 => out.push(byte),
            _ => return,
        }
    }
    if escaped_at(out, percent).is_some() {
        if !borrow_next {
            let kept = out[percent + 1];
            out.push(kept);
        }
        out[percent + 1] = b'2';
        out[percent + 2] = b'5';
        out.push(decoded);
    } else if borrow_next {
        out.truncate(len);
    }
}

/// The canonical form of a path (the query, from `?`, is kept as is), or `None` when the
/// path holds a NUL.
pub fn canonicalize(path: &str) -> Option<String> {
    let (path, query) = split_query(path);
    let path = drop_dot_parameters(path);
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 1);
    if !is_slash(bytes.first()) {
        out.push(b'/');
    }
    let mut valid = true;
    // Where in `out` the last `%` that began no valid escape is (for nested escapes).
    let mut invalid_percent: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let dot = dot_len(bytes, i);
        if dot > 0 {
            if out.last() == Some(&b'/') {
                match after_dot(bytes, i + dot) {
                    Dots::Name => out.push(b'.'),
                    Dots::Current(consumed) => i += consumed,
                    Dots::Parent(consumed) => {
                        back_up(&mut out);
                        i += consumed;
                    }
                }
            } else {
                out.push(b'.');
            }
            i += dot;
            continue;
        }
        match byte {
            b'\\' => out.push(b'/'),
            b'%' => match escaped_at(bytes, i) {
                Some(value) if class(value) == Class::Unescape => {
                    out.push(value);
                    i += 2;
                    if let Some(percent) = invalid_percent
                        && percent + 3 >= out.len()
                    {
                        guard_nested_escape(&mut out, percent, bytes.get(i + 1).copied());
                    }
                }
                Some(value) => {
                    out.extend_from_slice(&bytes[i..i + 3]);
                    valid &= class(value) != Class::Invalid;
                    i += 2;
                }
                None => {
                    invalid_percent = Some(out.len());
                    out.push(b'%');
                }
            },
            _ => match class(byte) {
                Class::Pass | Class::Unescape => out.push(byte),
                Class::Escape => push_escaped(&mut out, byte),
                Class::Invalid => {
                    push_escaped(&mut out, byte);
                    valid = false;
                }
            },
        }
        i += 1;
    }
    if !valid {
        return None;
    }
    out.extend_from_slice(query.as_bytes());
    // Every byte written is ASCII, or was copied whole from the (UTF-8) input.
    String::from_utf8(out).ok()
}
