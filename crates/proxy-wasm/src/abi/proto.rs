//! Just enough protobuf decoding for the small messages guests pass to foreign functions and
//! gRPC service descriptors.

/// Most fields read from one message: the messages guests pass have a handful; a buffer of
/// thousands of tiny fields must not make the host allocate per field.
const MAX_FIELDS: usize = 64;

/// Reads the length-delimited and varint fields of a protobuf message: `(field, bytes)`.
/// Varints are returned as their decimal text. `None` if the message is malformed or has more
/// than [`MAX_FIELDS`] fields.
pub(super) fn proto_strings(mut buf: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        if out.len() == MAX_FIELDS {
            return None;
        }
        let (key, rest) = varint(buf)?;
        buf = rest;
        let field = key >> 3;
        match key & 7 {
            0 => {
                let (v, rest) = varint(buf)?;
                out.push((field, v.to_string().into_bytes()));
                buf = rest;
            }
            2 => {
                let (len, rest) = varint(buf)?;
                let len = usize::try_from(len).ok()?;
                let value = rest.get(..len)?;
                out.push((field, value.to_vec()));
                buf = &rest[len..];
            }
            _ => return None,
        }
    }
    Some(out)
}

fn varint(buf: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &buf[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_protobuf_fields() {
        // field 1 = "ab", field 2 = "c", field 3 = varint 150
        let msg = [0x0a, 2, b'a', b'b', 0x12, 1, b'c', 0x18, 0x96, 0x01];
        let fields = proto_strings(&msg).unwrap();
        assert_eq!(fields, vec![(1, b"ab".to_vec()), (2, b"c".to_vec()), (3, b"150".to_vec())]);
        assert!(proto_strings(&[0x0a, 5, b'a']).is_none());
    }

    proptest::proptest! {
        /// Whatever a guest passes: no panic, at most `MAX_FIELDS` fields, each a slice of the
        /// input (no field longer than what remains).
        #[test]
        fn any_bytes_decode_or_are_refused(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Some(fields) = proto_strings(&buf) {
                proptest::prop_assert!(fields.len() <= MAX_FIELDS);
                proptest::prop_assert!(fields.iter().map(|(_, v)| v.len()).sum::<usize>() <= buf.len() * 20);
            }
        }

        #[test]
        fn many_tiny_fields_are_refused(n in (MAX_FIELDS + 1)..2000) {
            let buf: Vec<u8> = std::iter::repeat_n([0x08u8, 0x01], n).flatten().collect();
            proptest::prop_assert!(proto_strings(&buf).is_none());
        }
    }
}
