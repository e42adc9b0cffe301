//! Guest memory access for hostcalls. Out-of-bounds pointers become
//! `Status::InvalidMemoryAccess`, as in Envoy; only a failing guest allocator traps.

use wasmtime::Caller;
use weir_abi::Status;

use super::HostState;

/// Result of a hostcall: `Ok(status)` goes back to the guest, `Err` traps the VM.
pub(crate) type HostResult = wasmtime::Result<i32>;

/// Turns a hostcall outcome into the raw status returned to the guest.
pub(crate) fn status(result: Result<(), Status>) -> i32 {
    match result {
        Ok(()) => Status::Ok.raw() as i32,
        Err(s) => s.raw() as i32,
    }
}

fn range(ptr: i32, len: i32) -> (usize, usize) {
    let start = ptr as u32 as usize;
    (start, start.saturating_add(len as u32 as usize))
}

/// Copies `len` guest bytes at `ptr`.
pub(crate) fn read(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<Vec<u8>, Status> {
    let memory = caller.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let (start, end) = range(ptr, len);
    memory.data(caller).get(start..end).map(<[u8]>::to_vec).ok_or(Status::InvalidMemoryAccess)
}

/// Runs `f` on guest bytes `[ptr, ptr+len)` and the host state at once, without copying.
pub(crate) fn with_bytes<R>(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    f: impl FnOnce(&[u8], &mut HostState) -> R,
) -> Result<R, Status> {
    let memory = caller.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let (data, state) = memory.data_and_store_mut(caller);
    let (start, end) = range(ptr, len);
    let bytes = data.get(start..end).ok_or(Status::InvalidMemoryAccess)?;
    Ok(f(bytes, state))
}

/// Like [`with_bytes`] for two guest ranges (e.g. key and value).
pub(crate) fn with_two<R>(
    caller: &mut Caller<'_, HostState>,
    a: (i32, i32),
    b: (i32, i32),
    f: impl FnOnce(&[u8], &[u8], &mut HostState) -> R,
) -> Result<R, Status> {
    let memory = caller.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let (data, state) = memory.data_and_store_mut(caller);
    let (a0, a1) = range(a.0, a.1);
    let (b0, b1) = range(b.0, b.1);
    let first = data.get(a0..a1).ok_or(Status::InvalidMemoryAccess)?;
    let second = data.get(b0..b1).ok_or(Status::InvalidMemoryAccess)?;
    Ok(f(first, second, state))
}

/// Writes raw bytes at `ptr`.
pub(crate) fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> Result<(), Status> {
    let memory = caller.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let (start, end) = range(ptr, bytes.len() as i32);
    memory.data_mut(caller).get_mut(start..end).ok_or(Status::InvalidMemoryAccess)?.copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian `u32` at `ptr`.
pub(crate) fn write_u32(caller: &mut Caller<'_, HostState>, ptr: i32, value: u32) -> Result<(), Status> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Writes a little-endian `u64` at `ptr`.
pub(crate) fn write_u64(caller: &mut Caller<'_, HostState>, ptr: i32, value: u64) -> Result<(), Status> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Copies `bytes` into fresh guest memory (allocated with the guest's own allocator) and writes
/// its address and size to `ptr_ptr` / `size_ptr`. Empty data is returned as (0, 0) without an
/// allocation, as Envoy does.
///
/// `Ok(Err(status))` is a status for the guest; `Err` traps (the guest's allocator trapped).
pub(crate) fn copy_out(
    caller: &mut Caller<'_, HostState>,
    bytes: &[u8],
    ptr_ptr: i32,
    size_ptr: i32,
) -> wasmtime::Result<Result<(), Status>> {
    copy_out_with(
        caller,
        bytes.len(),
        |_, dst| {
            dst.copy_from_slice(bytes);
            Ok(())
        },
        ptr_ptr,
        size_ptr,
    )
}

/// Like [`copy_out`] for `len` bytes that `fill` writes straight into the fresh guest memory
/// from the host state (so host data such as a body is copied once, not first into a temporary).
pub(crate) fn copy_out_with(
    caller: &mut Caller<'_, HostState>,
    len: usize,
    fill: impl FnOnce(&HostState, &mut [u8]) -> Result<(), Status>,
    ptr_ptr: i32,
    size_ptr: i32,
) -> wasmtime::Result<Result<(), Status>> {
    let mut addr = 0u32;
    if len > 0 {
        let size = i32::try_from(len).map_err(|_| wasmtime::Error::msg("buffer over 2 GiB"))?;
        // Taken out for the call rather than cloned (a clone touches the type registry's
        // reference counts on every hostcall that returns data); the guest's allocator makes
        // no hostcalls, and the function is put back before anything else runs.
        let Some(malloc) = caller.data_mut().malloc.take() else {
            return Ok(Err(Status::InvalidMemoryAccess));
        };
        let called = malloc.call(&mut *caller, size);
        caller.data_mut().malloc = Some(malloc);
        let ptr = called?;
        if ptr == 0 {
            return Ok(Err(Status::InvalidMemoryAccess));
        }
        let Some(memory) = caller.data().memory else {
            return Ok(Err(Status::InvalidMemoryAccess));
        };
        let (data, state) = memory.data_and_store_mut(&mut *caller);
        let (start, end) = range(ptr, size);
        let Some(dst) = data.get_mut(start..end) else {
            return Ok(Err(Status::InvalidMemoryAccess));
        };
        if let Err(s) = fill(state, dst) {
            return Ok(Err(s));
        }
        addr = ptr as u32;
    }
    if let Err(s) = write_u32(caller, ptr_ptr, addr) {
        return Ok(Err(s));
    }
    Ok(write_u32(caller, size_ptr, len as u32))
}

/// [`copy_out`] with the result folded into a hostcall return value.
pub(crate) fn copy_out_status(
    caller: &mut Caller<'_, HostState>,
    bytes: &[u8],
    ptr_ptr: i32,
    size_ptr: i32,
) -> HostResult {
    Ok(status(copy_out(caller, bytes, ptr_ptr, size_ptr)?))
}
