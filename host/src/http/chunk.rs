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

    /// The chunk as the start of a buffer with room for `more` bytes. Bytes are copied at most
    /// once: a chunk that arrived shared is kept as it is when nothing more is expected, and
    /// otherwise copied into a buffer sized up front, which is not regrown (and recopied) as
    /// the rest arrives.
    pub fn into_buffer(self, more: usize) -> Chunk {
        match self {
            Chunk::Arrived(b) if more == 0 => Chunk::Arrived(b),
            chunk => Chunk::Owned(chunk.with_room(more)),
        }
    }

    /// An editable buffer holding the chunk with room for `more` bytes after it (the bytes
    /// copied once if the chunk arrived shared, never regrown for those `more`).
    fn with_room(self, more: usize) -> BytesMut {
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

    /// Appends `more` (an empty one changes nothing, and copies nothing; appended to nothing
    /// it is kept as it is).
    pub fn append(&mut self, more: Chunk) {
        if more.is_empty() {
            return;
        }
        if matches!(self, Chunk::Arrived(b) if b.is_empty()) {
            *self = more;
            return;
        }
        let mut buffer = std::mem::take(self).with_room(more.len());
        buffer.extend_from_slice(more.as_slice());
        *self = Chunk::Owned(buffer);
    }

    /// Envoy's `Buffer::copyFrom` semantics for `proxy_set_buffer_bytes`: `start == 0` drains
    /// `len` bytes and prepends `data` (so `(0, size)` replaces all), `start >= size` appends,
    /// anything else is refused (`false`). Replacing all does not copy the old bytes.
    pub fn splice(&mut self, start: usize, len: usize, data: &[u8]) -> bool {
        let size = self.len();
        if start == 0 && len >= size {
            *self = Chunk::Owned(BytesMut::from(data));
            true
        } else if start == 0 {
            self.edit(|body| {
                let rest = body.split_off(len);
                body.clear();
                body.extend_from_slice(data);
                body.extend_from_slice(&rest);
            });
            true
        } else if start >= size {
            self.edit(|body| body.extend_from_slice(data));
            true
        } else {
            false
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
        assert!(matches!(buffer, Chunk::Owned(b) if b.capacity() >= 103));
        let mut chunk = Chunk::Arrived(Bytes::from_static(b"abc"));
        chunk.edit(|b| b.extend_from_slice(b"d"));
        assert!(matches!(&chunk, Chunk::Owned(b) if &b[..] == b"abcd"));
        assert!(matches!(chunk.into_buffer(10), Chunk::Owned(b) if b.capacity() >= 14));
        // Nothing more to come: a chunk as it arrived stays as it is.
        let arrived = Bytes::from_static(b"whole");
        assert!(
            matches!(Chunk::Arrived(arrived.clone()).into_buffer(0), Chunk::Arrived(b) if b.as_ptr() == arrived.as_ptr())
        );
    }

    #[test]
    fn appending_copies_only_when_both_sides_hold_bytes() {
        let first = Bytes::from_static(b"first");
        let mut buffer = Chunk::empty();
        buffer.append(Chunk::Arrived(first.clone()));
        buffer.append(Chunk::empty());
        assert!(matches!(&buffer, Chunk::Arrived(b) if b.as_ptr() == first.as_ptr()));
        buffer.append(Chunk::Arrived(Bytes::from_static(b" second")));
        assert_eq!(buffer.as_slice(), b"first second");
    }

    #[test]
    fn splice_follows_envoy() {
        let mut b = Chunk::Arrived(Bytes::from_static(b"hello"));
        assert!(b.splice(0, 0, b">"));
        assert_eq!(b.as_slice(), b">hello");
        assert!(b.splice(0, 6, b"bye"));
        assert_eq!(b.as_slice(), b"bye");
        assert!(b.splice(3, 0, b"!"));
        assert_eq!(b.as_slice(), b"bye!");
        assert!(b.splice(0, 1, b"B"));
        assert_eq!(b.as_slice(), b"Bye!");
        assert!(b.splice(0, 100, b"all"));
        assert_eq!(b.as_slice(), b"all");
        assert!(b.splice(9, 0, b"+"));
        assert_eq!(b.as_slice(), b"all+");
        assert!(!b.splice(1, 1, b"x"));
        assert_eq!(b.as_slice(), b"all+");
        assert!(b.splice(0, 99, b""));
        assert!(b.is_empty());
    }
}
