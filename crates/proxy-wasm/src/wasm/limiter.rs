//! Per-VM resource limits enforced by wasmtime's `ResourceLimiter`: linear memory (growth past
//! the cap is refused, which a guest allocator turns into a trap), one instance, bounded
//! tables. Refusals are remembered so the failure that follows says why.

use wasmtime::ResourceLimiter;

/// The limiter of one VM.
#[derive(Debug, Clone, Default)]
pub struct VmLimiter {
    /// Largest linear memory, in bytes.
    pub max_memory: usize,
    /// `memory.grow` calls refused so far.
    pub memory_refusals: u64,
}

/// Most table elements a module may have (Rust/C guests use a few hundred).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for VmLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.memory_refusals += 1;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }
}
