//! A read-only view of bytes the host holds, for the buffer hostcalls: one contiguous slice, or
//! a body's chunks in arrival order (kept apart so buffering a body does not gather it).

use bytes::Bytes;

/// Bytes as the host holds them.
#[derive(Debug, Clone, Copy)]
pub enum ByteView<'a> {
    /// One contiguous slice.
    Whole(&'a [u8]),
    /// Consecutive parts, in order.
    Parts(&'a [Bytes]),
}

impl ByteView<'_> {
    /// Total length in bytes.
    pub fn len(&self) -> usize {
        match self {
            ByteView::Whole(b) => b.len(),
            ByteView::Parts(parts) => parts.iter().map(Bytes::len).sum(),
        }
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the bytes `start..start + dst.len()` into `dst`; `false` (and `dst` left
    /// unspecified) when that range is not all there.
    pub fn copy_range(&self, start: usize, dst: &mut [u8]) -> bool {
        let Some(end) = start.checked_add(dst.len()) else { return false };
        match self {
            ByteView::Whole(b) => match b.get(start..end) {
                Some(src) => {
                    dst.copy_from_slice(src);
                    true
                }
                None => false,
            },
            ByteView::Parts(parts) => {
                // `at`: offset of the current part in the whole; `filled`: bytes copied so far.
                let (mut at, mut filled) = (0usize, 0usize);
                for part in parts.iter() {
                    if filled == dst.len() {
                        break;
                    }
                    let part_end = at + part.len();
                    let from = start + filled;
                    if from < part_end {
                        let take = (part_end - from).min(dst.len() - filled);
                        dst[filled..filled + take].copy_from_slice(&part[from - at..from - at + take]);
                        filled += take;
                    }
                    at = part_end;
                }
                filled == dst.len()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_across_parts_match_the_whole() {
        let parts = [
            Bytes::from_static(b"hel"),
            Bytes::new(),
            Bytes::from_static(b"lo wo"),
            Bytes::from_static(b"rld"),
        ];
        let whole = b"hello world";
        let view = ByteView::Parts(&parts);
        assert_eq!(view.len(), whole.len());
        for start in 0..=whole.len() {
            for end in start..=whole.len() {
                let mut got = vec![0u8; end - start];
                assert!(view.copy_range(start, &mut got), "{start}..{end}");
                assert_eq!(got, &whole[start..end], "{start}..{end}");
                let mut flat = vec![0u8; end - start];
                assert!(ByteView::Whole(whole).copy_range(start, &mut flat));
                assert_eq!(flat, got);
            }
        }
        let mut past = [0u8; 2];
        assert!(!view.copy_range(10, &mut past), "a range past the end is refused");
        assert!(!ByteView::Whole(whole).copy_range(10, &mut past));
        assert!(!view.copy_range(usize::MAX, &mut past));
        assert!(ByteView::Parts(&[]).is_empty());
    }
}
