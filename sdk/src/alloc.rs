//! The allocator of weir-sdk filters: small blocks from per-size free lists, the rest from
//! the system allocator.
//!
//! A request makes dozens of small allocations in a filter (header values the host copies
//! in, strings, the boxed context) and frees them when it ends. On `wasm32-wasip1` Rust
//! allocates with wasi-libc's dlmalloc, whose bookkeeping is a good part of a small filter's
//! time per request. Here a block of up to [`MAX_SMALL`] bytes comes from the free list of
//! its size class (multiples of 16 bytes): allocating and freeing are a few loads and stores.
//! Rust tells `dealloc` the block's size, so blocks carry no header.
//!
//! Memory: small blocks are cut from [`CHUNK`]-byte chunks taken from the system allocator
//! and are reused for their own size class only, never returned; a filter holds at most its
//! peak small-block use per class (Wasm linear memory never shrinks anyway). Blocks over
//! [`MAX_SMALL`] bytes or aligned to more than 16 go to the system allocator.
//!
//! It is the global allocator of filters built for `wasm32` with the `fast-alloc` feature (on
//! by default). Turn the feature off to use your own `#[global_allocator]`. The host gives the
//! guest memory through `proxy_on_memory_allocate`, which allocates with this allocator too,
//! so buffers the host hands over are freed by the allocator that made them.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr::null_mut;

/// Largest block served from the size classes.
pub const MAX_SMALL: usize = 1024;
/// Size-class granularity (and the alignment every small block has).
const GRAIN: usize = 16;
const CLASSES: usize = MAX_SMALL / GRAIN;
/// Bytes taken from the system allocator at a time for small blocks.
pub const CHUNK: usize = 64 * 1024;

struct State {
    /// Heads of the free lists; a free block stores the next one in its first word.
    free: [*mut u8; CLASSES],
    /// The unused rest of the current chunk.
    next: *mut u8,
    end: *mut u8,
}

/// A size-class allocator over [`System`]. Not thread-safe: it is meant for single-threaded
/// Wasm (the `Sync` impl below relies on that).
pub struct SizeClasses {
    state: UnsafeCell<State>,
}

// SAFETY: used as the global allocator only on wasm32 without threads (`wasm32-wasip1`), where
// no two calls can overlap. Native code (tests) uses an instance from one thread.
unsafe impl Sync for SizeClasses {}

impl SizeClasses {
    /// An empty allocator.
    pub const fn new() -> SizeClasses {
        SizeClasses {
            state: UnsafeCell::new(State { free: [null_mut(); CLASSES], next: null_mut(), end: null_mut() }),
        }
    }
}

impl Default for SizeClasses {
    fn default() -> Self {
        SizeClasses::new()
    }
}

/// The size class of a layout, `None` for blocks the system allocator serves.
fn class(layout: Layout) -> Option<usize> {
    (layout.size() <= MAX_SMALL && layout.align() <= GRAIN).then(|| layout.size().max(1).div_ceil(GRAIN) - 1)
}

// SAFETY: every small block handed out is `(class + 1) * GRAIN` bytes, 16-aligned, inside a
// chunk owned by this allocator and not handed out twice; large blocks are the system's.
unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class(layout) else {
            // SAFETY: forwarded as received.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: single-threaded (see the `Sync` impl); no reference outlives this call.
        let state = unsafe { &mut *self.state.get() };
        let head = state.free[class];
        if !head.is_null() {
            // SAFETY: a free block's first word holds the next free block of its class.
            state.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = (class + 1) * GRAIN;
        if (state.end as usize) - (state.next as usize) < size {
            // SAFETY: CHUNK and GRAIN make a valid, non-zero layout.
            let chunk = unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, GRAIN)) };
            if chunk.is_null() {
                return null_mut();
            }
            state.next = chunk;
            // SAFETY: one past the end of the chunk just allocated.
            state.end = unsafe { chunk.add(CHUNK) };
        }
        let block = state.next;
        // SAFETY: `size` bytes fit before `end` (checked above).
        state.next = unsafe { block.add(size) };
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class(layout) else {
            // SAFETY: a large block came from the system allocator with this layout.
            return unsafe { System.dealloc(ptr, layout) };
        };
        // SAFETY: single-threaded; `ptr` is a small block of this class that is no longer used,
        // at least 16 bytes and 16-aligned, so its first word can hold the list link.
        let state = unsafe { &mut *self.state.get() };
        unsafe { ptr.cast::<*mut u8>().write(state.free[class]) };
        state.free[class] = ptr;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new_layout)) {
            (Some(old), Some(new)) if old == new => ptr,
            // SAFETY: both blocks are the system's; forwarded as received.
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                // SAFETY: allocate, copy what both hold, free the old block.
                unsafe {
                    let fresh = self.alloc(new_layout);
                    if !fresh.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    fresh
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_distinct_and_reused_per_class() {
        let a = SizeClasses::new();
        let small = Layout::from_size_align(24, 8).unwrap();
        let blocks: Vec<*mut u8> = (0..5000).map(|_| unsafe { a.alloc(small) }).collect();
        assert!(blocks.iter().all(|p| !p.is_null() && (*p as usize).is_multiple_of(GRAIN)));
        let mut sorted = blocks.clone();
        sorted.sort();
        assert!(sorted.windows(2).all(|w| w[1] as usize - w[0] as usize >= 32), "blocks overlap");
        for (i, p) in blocks.iter().enumerate() {
            unsafe { p.write_bytes(i as u8, 24) };
        }
        for (i, p) in blocks.iter().enumerate() {
            assert!((0..24).all(|k| unsafe { p.add(k).read() } == i as u8), "block {i} was overwritten");
        }
        let freed = blocks[17];
        unsafe { a.dealloc(freed, small) };
        assert_eq!(unsafe { a.alloc(Layout::from_size_align(32, 16).unwrap()) }, freed, "same class reuses");
        for p in &blocks {
            if *p != freed {
                unsafe { a.dealloc(*p, small) };
            }
        }
    }

    #[test]
    fn large_and_overaligned_blocks_and_realloc_across_classes() {
        let a = SizeClasses::new();
        let big = Layout::from_size_align(MAX_SMALL + 1, 1).unwrap();
        let p = unsafe { a.alloc(big) };
        assert!(!p.is_null());
        unsafe { a.dealloc(p, big) };
        let aligned = Layout::from_size_align(64, 64).unwrap();
        let q = unsafe { a.alloc(aligned) };
        assert!((q as usize).is_multiple_of(64));
        unsafe { a.dealloc(q, aligned) };
        // Grow a byte string through small classes into a system block and back down.
        let mut layout = Layout::from_size_align(5, 1).unwrap();
        let mut p = unsafe { a.alloc(layout) };
        unsafe { std::ptr::copy_nonoverlapping(b"hello".as_ptr(), p, 5) };
        for size in [17, 200, 1024, 1025, 5000, 40, 3] {
            p = unsafe { a.realloc(p, layout, size) };
            assert!(!p.is_null());
            let kept = layout.size().min(size).min(5);
            assert_eq!(unsafe { std::slice::from_raw_parts(p, kept) }, &b"hello"[..kept], "size {size}");
            layout = Layout::from_size_align(size, 1).unwrap();
        }
        unsafe { a.dealloc(p, layout) };
    }
}
