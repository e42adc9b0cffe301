//! A body chunk on its way through the plugin chain: kept as it arrived (shared with the
//! connection's read buffer) until a plugin needs a buffer it may edit, so a chunk that only
//! passes through, or is appended to a plugin's buffer, is not copied on the way.

use bytes::{Bytes, BytesMut};

/// A body chunk: as it arrived, or owned and editable.
#[derive(Debug)]
pub enum Chunk {
    /// As the source delivered it (often a slice of the connection's read buffer).
    Arrived(Bytes),
    /// A buffer a plugin has seen (and may have edited).
    Owned(BytesMut),
}

impl Default for Chunk {
    fn default() -> Chunk {
        Chunk::empty()
    }
}

impl Chunk {
    /// An empty chunk (end of stream without data).
    pub fn empty() -> Chunk {
        Chunk::Arrived(Bytes::new())
    }

    /// Its bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Chunk::Arrived(b) => b,
            Chunk::Owned(b) => b,
        }
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// An editable buffer; copies only a chunk that arrived shared.
    pub fn into_mut(self) -> BytesMut {
        match self {
            Chunk::Arrived(b) => BytesMut::from(b),
            Chunk::Owned(b) => b,
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Runs `edit` on the chunk as an editable buffer (copied once if it arrived shared).
    pub fn edit<R>(&mut self, edit: impl FnOnce(&mut BytesMut) -> R) -> R {
        let mut owned = std::mem::take(self).into_mut();
        let result = edit(&mut owned);
        *self = Chunk::Owned(owned);
        result
    }

    /// The chunk as the start of a buffer with room for `more` bytes, copying the bytes at most
    /// once (a buffer sized up front is not regrown, and recopied, as the rest arrives).
    pub fn into_buffer(self, more: usize) -> BytesMut {
        match self {
            Chunk::Arrived(b) => {
                let mut buffer = BytesMut::with_capacity(b.len().saturating_add(more));
                buffer.extend_from_slice(&b);
                buffer
            }
            Chunk::Owned(mut b) => {
                b.reserve(more);
                b
            }
        }
    }

    /// The bytes to send on, without a copy.
    pub fn freeze(self) -> Bytes {
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

    #[test]
    fn a_buffer_started_from_a_chunk_has_room_for_the_rest() {
        let buffer = Chunk::Arrived(Bytes::from_static(b"abc")).into_buffer(100);
        assert!(buffer.capacity() >= 103);
        let mut chunk = Chunk::Arrived(Bytes::from_static(b"abc"));
        chunk.edit(|b| b.extend_from_slice(b"d"));
        assert!(matches!(&chunk, Chunk::Owned(b) if &b[..] == b"abcd"));
        assert!(chunk.into_buffer(10).capacity() >= 14);
    }
}
