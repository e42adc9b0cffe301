//! The header-map ("pairs") wire format used by `proxy_get_header_map_pairs`,
//! `proxy_set_header_map_pairs`, `proxy_send_local_response`, `proxy_http_call` and gRPC metadata.
//!
//! Layout, all integers little-endian `u32`:
//!
//! ```text
//! count
//! (key_len, value_len) × count
//! (key bytes, 0x00, value bytes, 0x00) × count
//! ```

use core::fmt;

/// A malformed pairs buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairsError {
    /// The buffer ends before the data its header announces.
    Truncated,
    /// A key or value is not followed by its NUL terminator.
    MissingTerminator,
}

impl fmt::Display for PairsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairsError::Truncated => f.write_str("header pairs buffer is truncated"),
            PairsError::MissingTerminator => f.write_str("header pair is not NUL-terminated"),
        }
    }
}

impl core::error::Error for PairsError {}

/// The encoded size of `pairs`, so callers can allocate exactly once (e.g. in guest memory).
pub fn encoded_pairs_len<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> usize {
    4 + pairs.iter().map(|(k, v)| 8 + k.as_ref().len() + v.as_ref().len() + 2).sum::<usize>()
}

/// Encodes `pairs` into `out` (appending).
pub fn encode_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)], out: &mut Vec<u8>) {
    out.reserve(encoded_pairs_len(pairs));
    out.extend_from_slice(&len_u32(pairs.len()).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&len_u32(k.as_ref().len()).to_le_bytes());
        out.extend_from_slice(&len_u32(v.as_ref().len()).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// One borrowed `(key, value)` pair.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes a pairs buffer into borrowed `(key, value)` slices.
///
/// An empty buffer decodes to no pairs (guests send that for "no headers").
pub fn decode_pairs(buf: &[u8]) -> Result<Vec<Pair<'_>>, PairsError> {
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    let count = read_u32(buf, 0)? as usize;
    let sizes_end = count.checked_mul(8).and_then(|n| n.checked_add(4)).ok_or(PairsError::Truncated)?;
    if sizes_end > buf.len() {
        return Err(PairsError::Truncated);
    }
    let mut pairs = Vec::with_capacity(count);
    let mut at = sizes_end;
    for i in 0..count {
        let klen = read_u32(buf, 4 + i * 8)? as usize;
        let vlen = read_u32(buf, 8 + i * 8)? as usize;
        let key = take(buf, &mut at, klen)?;
        let value = take(buf, &mut at, vlen)?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn read_u32(buf: &[u8], at: usize) -> Result<u32, PairsError> {
    let bytes = buf.get(at..at + 4).ok_or(PairsError::Truncated)?;
    let mut raw = [0u8; 4];
    raw.copy_from_slice(bytes);
    Ok(u32::from_le_bytes(raw))
}

fn take<'a>(buf: &'a [u8], at: &mut usize, len: usize) -> Result<&'a [u8], PairsError> {
    let end = at.checked_add(len).ok_or(PairsError::Truncated)?;
    let data = buf.get(*at..end).ok_or(PairsError::Truncated)?;
    match buf.get(end) {
        Some(0) => {}
        Some(_) => return Err(PairsError::MissingTerminator),
        None => return Err(PairsError::Truncated),
    }
    *at = end + 1;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pairs: Vec<(&[u8], &[u8])> = vec![(b":method", b"GET"), (b"x-a", b""), (b"x-bin", &[0xff, 0x01])];
        let mut buf = Vec::new();
        encode_pairs(&pairs, &mut buf);
        assert_eq!(buf.len(), encoded_pairs_len(&pairs));
        assert_eq!(decode_pairs(&buf).unwrap(), pairs);
    }

    #[test]
    fn golden_bytes() {
        let mut buf = Vec::new();
        encode_pairs(&[("a", "bc")], &mut buf);
        assert_eq!(buf, [1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, b'b', b'c', 0]);
    }

    proptest::proptest! {
        /// Whatever a guest passes: decoding never panics, never allocates more than the
        /// buffer's size in pairs, and what it returns encodes back to the same bytes.
        #[test]
        fn any_buffer_decodes_or_is_refused(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            if let Ok(pairs) = decode_pairs(&buf)
                && !buf.is_empty()
            {
                proptest::prop_assert!(pairs.len() <= buf.len() / 8);
                let mut again = Vec::new();
                encode_pairs(&pairs, &mut again);
                proptest::prop_assert_eq!(&again[..], &buf[..again.len()]);
            }
        }

        #[test]
        fn any_pairs_round_trip(pairs in proptest::collection::vec(
            (proptest::collection::vec(1u8..=255, 0..16), proptest::collection::vec(1u8..=255, 0..16)), 0..16)
        ) {
            let mut buf = Vec::new();
            encode_pairs(&pairs, &mut buf);
            let decoded = decode_pairs(&buf).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let expected: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            proptest::prop_assert_eq!(decoded, expected);
        }

        /// A declared count far larger than the buffer is refused before anything is allocated.
        #[test]
        fn huge_counts_are_refused(count in 1u32.., tail in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut buf = count.to_le_bytes().to_vec();
            buf.extend_from_slice(&tail);
            if (count as usize) * 8 + 4 > buf.len() {
                proptest::prop_assert_eq!(decode_pairs(&buf), Err(PairsError::Truncated));
            }
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode_pairs(&[]), Ok(vec![]));
        assert_eq!(decode_pairs(&[1, 0]), Err(PairsError::Truncated));
        assert_eq!(decode_pairs(&[0xff, 0xff, 0xff, 0xff]), Err(PairsError::Truncated));
        let bad = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'a', 1, b'b', 0];
        assert_eq!(decode_pairs(&bad), Err(PairsError::MissingTerminator));
    }
}
