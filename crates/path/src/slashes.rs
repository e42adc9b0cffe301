//! `merge_slashes` and the unescaping of escaped slashes, as Envoy does them.

use crate::split_query;

/// `a//b///c` → `a/b/c` in the path (not the query): a leading and a trailing slash are kept,
/// empty segments dropped. `None` when there is nothing to merge. As in Envoy, a path that is
/// only slashes becomes `//` (a leading and a trailing slash).
pub fn merge_slashes(path: &str) -> Option<String> {
    let (path, query) = split_query(path);
    if !path.contains("//") {
        return None;
    }
    let mut out = String::with_capacity(path.len() + query.len());
    if path.starts_with('/') {
        out.push('/');
    }
    let mut first = true;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if !first {
            out.push('/');
        }
        out.push_str(segment);
        first = false;
    }
    if path.ends_with('/') {
        out.push('/');
    }
    out.push_str(query);
    Some(out)
}

/// `%2F`/`%2f` → `/` and `%5C`/`%5c` → `\` in the path (not the query). `None` when the path
/// holds none.
pub fn unescape_slashes(path: &str) -> Option<String> {
    let (path, query) = split_query(path);
    let bytes = path.as_bytes();
    let is_escaped_slash = |at: usize| match bytes.get(at..at + 3) {
        Some([b'%', b'2', b'f' | b'F']) => Some('/'),
        Some([b'%', b'5', b'c' | b'C']) => Some('\\'),
        _ => None,
    };
    if !(0..bytes.len()).any(|at| is_escaped_slash(at).is_some()) {
        return None;
    }
    let mut out = String::with_capacity(path.len() + query.len());
    let mut i = 0;
    while i < bytes.len() {
        match is_escaped_slash(i) {
            Some(slash) => {
                out.push(slash);
                i += 3;
            }
            None => {
                let end = (i + 1..=bytes.len()).find(|e| path.is_char_boundary(*e)).unwrap_or(bytes.len());
                out.push_str(&path[i..end]);
                i = end;
            }
        }
    }
    out.push_str(query);
    Some(out)
}
