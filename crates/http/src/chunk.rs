//! A body chunk on its way through the plugin chain: kept as it arrived (shared with the
//! connection's read buffer) until a plugin needs a buffer it may edit, so a chunk that only
//! passes through, or is buffered by a plugin, is not copied on the way. A plugin's buffer
//! keeps the chunks it collects apart (up to [`MAX_PARTS`] of at least [`MIN_PART`] bytes), so
//! a body that is read, or replaced whole, is never gathered into one buffer first.

use bytes::{Bytes, BytesMut};

use super::ByteView;

/// Most chunks a buffer keeps apart; one more gathers them.
const MAX_PARTS: usize = 32;
/// Smallest chunk kept apart: smaller ones are copied into one buffer rather than each keeping
/// (part of) a read buffer alive.
const MIN_PART: usize = 4096;

/// A body chunk: as it arrived, owned and editable, or buffered chunks kept apart.
#[derive(Debug)]
pub enum Chunk {
    /// As the source delivered it (often a slice of the connection's read buffer).
    Arrived(Bytes),
    /// A buffer a plugin has seen (and may have edited).
    Owned(BytesMut),
    /// Chunks a plugin buffered, in order, as they arrived.
    Parts(Vec<Bytes>),
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

    /// Its bytes, where they are.
    pub fn view(&self) -> ByteView<'_> {
        match self {
            Chunk::Arrived(b) => ByteView::Whole(b),
            Chunk::Owned(b) => ByteView::Whole(b),
            Chunk::Parts(parts) => ByteView::Parts(parts),
        }
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An editable buffer; copies a chunk that arrived shared, and gathers buffered parts.
    pub fn into_mut(self) -> BytesMut {
        self.with_room(0)
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// Runs `edit` on the chunk as an editable buffer (copied once if it arrived shared).
    pub fn edit<R>(&mut self, edit: impl FnOnce(&mut BytesMut) -> R) -> R {
        let mut owned = std::mem::take(self).into_mut();
        let result = edit(&mut owned);
        *self = Chunk::Owned(owned);
        result
    }

    /// The chunk as the start of a plugin's buffer, to which about `more` bytes will be
    /// appended. A chunk that arrived shared stays as it is when nothing more is expected, and
    /// a large one becomes the first of the buffer's parts; otherwise the bytes go into a
    /// buffer with room for `more`, so it is not regrown (and recopied) as the rest arrives.
    pub fn into_buffer(self, more: usize) -> Chunk {
        match self {
            Chunk::Arrived(b) if more == 0 || b.is_empty() => Chunk::Arrived(b),
            Chunk::Arrived(b) if b.len() >= MIN_PART => Chunk::Parts(vec![b]),
            parts @ Chunk::Parts(_) => parts,
            chunk => Chunk::Owned(chunk.with_room(more)),
        }
    }

    /// An editable buffer holding the chunk with room for `more` bytes after it (the bytes
    /// copied once if the chunk arrived shared or in parts, never regrown for those `more`).
    fn with_room(self, more: usize) -> BytesMut {
        match self {
            Chunk::Owned(mut b) => {
                b.reserve(more);
                b
            }
            shared => {
                let view = shared.view();
                let mut buffer = BytesMut::with_capacity(view.len().saturating_add(more));
                match view {
                    ByteView::Whole(b) => buffer.extend_from_slice(b),
                    ByteView::Parts(parts) => parts.iter().for_each(|p| buffer.extend_from_slice(p)),
                }
                buffer
            }
        }
    }

    /// Appends `more` (an empty one changes nothing, and copies nothing; appended to nothing
    /// it is kept as it is). A large chunk that arrived shared joins a buffer's parts without a
    /// copy; otherwise the bytes are copied into one buffer.
    pub fn append(&mut self, more: Chunk) {
        if more.is_empty() {
            return;
        }
        if self.is_empty() && !matches!(self, Chunk::Owned(_)) {
            *self = more;
            return;
        }
        match (&mut *self, more) {
            (Chunk::Parts(parts), Chunk::Arrived(b)) if b.len() >= MIN_PART && parts.len() < MAX_PARTS => {
                parts.push(b);
            }
            (Chunk::Arrived(first), Chunk::Arrived(b)) if first.len() >= MIN_PART && b.len() >= MIN_PART => {
                let first = std::mem::take(first);
                *self = Chunk::Parts(vec![first, b]);
            }
            (_, more) => {
                let mut buffer = std::mem::take(self).with_room(more.len());
                match more.view() {
                    ByteView::Whole(b) => buffer.extend_from_slice(b),
                    ByteView::Parts(parts) => parts.iter().for_each(|p| buffer.extend_from_slice(p)),
                }
                *self = Chunk::Owned(buffer);
            }
        }
    }

    /// Envoy's `Buffer::copyFrom` semantics for `proxy_set_buffer_bytes`: `start == 0` drains
    /// `len` bytes and prepends `data` (so `(0, size)` replaces all), `start >= size` appends,
    /// anything else is refused (`false`). Replacing all does not copy (or gather) the old
    /// bytes.
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

    /// The bytes to send on: without a copy, except that buffered parts are gathered.
    pub fn freeze(self) -> Bytes {
        match self {
            Chunk::Arrived(b) => b,
            Chunk::Owned(b) => b.freeze(),
            parts => parts.into_mut().freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Chunk {
        fn bytes(&self) -> Vec<u8> {
            let mut all = vec![0; self.len()];
            assert!(self.view().copy_range(0, &mut all));
            all
        }
    }

    fn big(byte: u8) -> Bytes {
        Bytes::from(vec![byte; MIN_PART])
    }

    #[test]
    fn a_buffer_keeps_large_chunks_apart_until_edited_or_sent() {
        let (a, b, c) = (big(b'a'), big(b'b'), big(b'c'));
        let mut buffer = Chunk::Arrived(a.clone()).into_buffer(3 * MIN_PART);
        buffer.append(Chunk::Arrived(b.clone()));
        buffer.append(Chunk::Arrived(c.clone()));
        let Chunk::Parts(parts) = &buffer else { panic!("not kept apart: {buffer:?}") };
        assert_eq!(
            parts.iter().map(|p| p.as_ptr()).collect::<Vec<_>>(),
            [a.as_ptr(), b.as_ptr(), c.as_ptr()]
        );
        let whole = [&a[..], &b[..], &c[..]].concat();
        assert_eq!(buffer.len(), whole.len());
        assert_eq!(buffer.bytes(), whole);
        // Replacing all of it gathers nothing; editing or sending gathers once.
        let mut replaced = Chunk::Parts(vec![a.clone(), b.clone()]);
        assert!(replaced.splice(0, 2 * MIN_PART, b"new"));
        assert_eq!(replaced.bytes(), b"new");
        assert_eq!(&buffer_edit(Chunk::Parts(vec![a.clone(), b.clone()]))[..2], b"!a");
        assert_eq!(Chunk::Parts(vec![a.clone(), c.clone()]).freeze(), [&a[..], &c[..]].concat());
        // Unknown length (nothing more announced): two large chunks are kept apart too.
        let mut unknown = Chunk::Arrived(a.clone()).into_buffer(0);
        unknown.append(Chunk::Arrived(b.clone()));
        assert!(matches!(&unknown, Chunk::Parts(p) if p.len() == 2));
    }

    fn buffer_edit(mut chunk: Chunk) -> Vec<u8> {
        chunk.edit(|b| b[0] = b'!');
        chunk.bytes()
    }

    #[test]
    fn small_or_too_many_chunks_are_gathered() {
        let mut buffer = Chunk::Arrived(big(b'a')).into_buffer(MIN_PART);
        buffer.append(Chunk::Arrived(Bytes::from_static(b"tail")));
        assert!(matches!(&buffer, Chunk::Owned(b) if b.len() == MIN_PART + 4));
        let mut many = Chunk::Arrived(big(0)).into_buffer(usize::MAX);
        for i in 1..=MAX_PARTS as u8 {
            many.append(Chunk::Arrived(big(i)));
        }
        assert!(matches!(&many, Chunk::Owned(b) if b.len() == (MAX_PARTS + 1) * MIN_PART));
        assert_eq!(many.bytes()[MAX_PARTS * MIN_PART], MAX_PARTS as u8);
    }

    #[test]
    fn a_chunk_that_passes_through_keeps_its_storage() {
        let arrived = Bytes::from_static(b"hello");
        let chunk = Chunk::Arrived(arrived.clone());
        assert_eq!(chunk.bytes(), b"hello");
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
        assert_eq!(buffer.bytes(), b"first second");
    }

    #[test]
    fn splice_follows_envoy() {
        let mut b = Chunk::Arrived(Bytes::from_static(b"hello"));
        assert!(b.splice(0, 0, b">"));
        assert_eq!(b.bytes(), b">hello");
        assert!(b.splice(0, 6, b"bye"));
        assert_eq!(b.bytes(), b"bye");
        assert!(b.splice(3, 0, b"!"));
        assert_eq!(b.bytes(), b"bye!");
        assert!(b.splice(0, 1, b"B"));
        assert_eq!(b.bytes(), b"Bye!");
        assert!(b.splice(0, 100, b"all"));
        assert_eq!(b.bytes(), b"all");
        assert!(b.splice(9, 0, b"+"));
        assert_eq!(b.bytes(), b"all+");
        assert!(!b.splice(1, 1, b"x"));
        assert_eq!(b.bytes(), b"all+");
        assert!(b.splice(0, 99, b""));
        assert!(b.is_empty());
    }
}
