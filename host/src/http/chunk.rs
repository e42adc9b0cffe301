//! A body chunk on its way through the plugin chain: kept as it arrived (shared with the
//! connection's read buffer) until a plugin needs a buffer it may edit, so a chunk that only
//! passes through, or is appended to a plugin's buffer, is not copied on the way.

use bytes::{Bytes, BytesMut};

/// A body chunk: as it arrived, or owned and editable.
pub(super) enum Chunk {
    /// As the source delivered it (often a slice of the connection's read buffer).
    Arrived(Bytes),
    /// A buffer a plugin has seen (and may have edited).
    Owned(BytesMut),
}

impl Chunk {
    /// An empty chunk (end of stream without data).
    pub(super) fn empty() -> Chunk {
        Chunk::Arrived(Bytes::new())
    }

    /// Its bytes.
    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Chunk::Arrived(b) => b,
            Chunk::Owned(b) => b,
        }
    }

    /// Whether it holds no bytes.
    pub(super) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// An editable buffer; copies only a chunk that arrived shared.
    pub(super) fn into_mut(self) -> BytesMut {
        match self {
            Chunk::Arrived(b) => BytesMut::from(b),
            Chunk::Owned(b) => b,
        }
    }

    /// The bytes to send on, without a copy.
    pub(super) fn freeze(self) -> Bytes {
        match self {
            Chunk::Arrived(b) => b,
            Chunk::Owned(b) => b.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_that_passes_through_keeps_its_storage() {
        let arrived = Bytes::from_static(b"hello");
        let chunk = Chunk::Arrived(arrived.clone());
        assert_eq!(chunk.as_slice(), b"hello");
        assert_eq!(chunk.freeze().as_ptr(), arrived.as_ptr());
        assert!(Chunk::empty().is_empty());
    }

    #[test]
    fn an_owned_chunk_is_not_copied_to_edit_or_send() {
        let mut owned = BytesMut::from(&b"abc"[..]);
        owned.extend_from_slice(b"def");
        let ptr = owned.as_ptr();
        let edited = Chunk::Owned(owned).into_mut();
        assert_eq!(edited.as_ptr(), ptr);
        assert_eq!(Chunk::Owned(edited).freeze().as_ptr(), ptr);
        assert_eq!(&Chunk::Arrived(Bytes::from_static(b"xyz")).into_mut()[..], b"xyz");
    }
}
