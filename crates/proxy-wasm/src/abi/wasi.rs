//! The WASI preview1 functions Envoy gives proxy-wasm modules (`wasi_snapshot_preview1` and the
//! older `wasi_unstable`), with Envoy's answers: stdout/stderr go to the log at info/error,
//! nothing else is a file, there are no arguments, environment variables come from the plugin
//! config, clocks and randomness are real, `proc_exit` stops the VM.

use std::time::Instant;

use wasmtime::{Caller, Linker};
use weir_abi::LogLevel;

use super::MAX_LOG_LINE;

use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult};

const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOENT: i32 = 44;
const ENOSYS: i32 = 52;
const ENOTSUP: i32 = 58;

/// Largest `random_get` request Envoy serves.
const RANDOM_MAX: u32 = 64 * 1024;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    for module in ["wasi_snapshot_preview1", "wasi_unstable"] {
        linker.func_wrap(module, "fd_write", fd_write)?;
        linker.func_wrap(module, "fd_read", |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| {
            ENOSYS
        })?;
        linker.func_wrap(module, "fd_seek", |_: Caller<'_, HostState>, _: i32, _: i64, _: i32, _: i32| {
            SUCCESS
        })?;
        linker.func_wrap(module, "fd_close", |_: Caller<'_, HostState>, _: i32| SUCCESS)?;
        linker.func_wrap(module, "fd_fdstat_get", fd_fdstat_get)?;
        linker.func_wrap(module, "fd_prestat_get", |_: Caller<'_, HostState>, _: i32, _: i32| EBADF)?;
        linker.func_wrap(
            module,
            "fd_prestat_dir_name",
            |_: Caller<'_, HostState>, _: i32, _: i32, _: i32| ENOSYS,
        )?;
        linker.func_wrap(
            module,
            "path_open",
            |_: Caller<'_, HostState>,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i64,
             _: i64,
             _: i32,
             _: i32| ENOENT,
        )?;
        linker.func_wrap(module, "environ_get", environ_get)?;
        linker.func_wrap(module, "environ_sizes_get", environ_sizes_get)?;
        linker.func_wrap(module, "args_get", |_: Caller<'_, HostState>, _: i32, _: i32| SUCCESS)?;
        linker.func_wrap(module, "args_sizes_get", args_sizes_get)?;
        linker.func_wrap(module, "clock_time_get", clock_time_get)?;
        linker.func_wrap(module, "random_get", random_get)?;
        linker.func_wrap(module, "sched_yield", |_: Caller<'_, HostState>| SUCCESS)?;
        linker.func_wrap(
            module,
            "poll_oneoff",
            |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| ENOSYS,
        )?;
        linker.func_wrap(
            module,
            "proc_exit",
            |_: Caller<'_, HostState>, code: i32| -> wasmtime::Result<()> {
                Err(wasmtime::Error::new(crate::wasm::ProcExit(code)))
            },
        )?;
    }
    Ok(())
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Most iovecs one `fd_write` may pass (Linux's `IOV_MAX`); more is `EINVAL`.
const MAX_IOVECS: usize = 1024;

/// Gathers what an `fd_write` writes: its first [`MAX_LOG_LINE`] bytes (the rest is only
/// counted, so overlapping iovecs cannot make the host copy more than that, however many
/// there are) and the total length, or the WASI error.
fn gather(data: &[u8], iovs: i32, iovs_len: i32) -> Result<(Vec<u8>, usize), i32> {
    let count = usize::try_from(iovs_len).map_err(|_| EINVAL)?;
    if count > MAX_IOVECS {
        return Err(EINVAL);
    }
    let base = iovs as u32 as usize;
    let mut kept = Vec::new();
    let mut total = 0usize;
    for i in 0..count {
        let entry = base.checked_add(i * 8).ok_or(EFAULT)?;
        let (Some(buf), Some(len)) = (read_u32(data, entry), read_u32(data, entry + 4)) else {
            return Err(EFAULT);
        };
        let start = buf as usize;
        let bytes = data.get(start..start.checked_add(len as usize).ok_or(EFAULT)?).ok_or(EFAULT)?;
        total = total.checked_add(bytes.len()).ok_or(EINVAL)?;
        let room = MAX_LOG_LINE.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
    Ok((kept, total))
}

fn fd_write(
    mut caller: Caller<'_, HostState>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> HostResult {
    let level = match fd {
        1 => LogLevel::Info,
        2 => LogLevel::Error,
        _ => return Ok(EBADF),
    };
    let Some(memory) = caller.data().memory else {
        return Ok(EFAULT);
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let (mut text, total) = match gather(data, iovs, iovs_len) {
        Ok(gathered) => gathered,
        Err(errno) => return Ok(errno),
    };
    let mut line_total = total;
    if text.last() == Some(&b'\n') && text.len() == total {
        text.pop();
        line_total -= 1;
    }
    if !text.is_empty() {
        super::log::emit(state, level, &text, line_total);
    }
    // The whole write is reported done (as Envoy does, truncating), so the guest does not
    // retry the part that was cut.
    let written = u32::try_from(total).unwrap_or(u32::MAX);
    Ok(match memory::write_u32(&mut caller, nwritten, written) {
        Ok(()) => SUCCESS,
        Err(_) => EFAULT,
    })
}

fn fd_fdstat_get(mut caller: Caller<'_, HostState>, fd: i32, stat: i32) -> HostResult {
    if fd != 1 && fd != 2 {
        return Ok(EBADF);
    }
    let mut out = [0u8; 24];
    // fs_rights_base = FD_WRITE (64)
    out[8] = 64;
    Ok(match memory::write(&mut caller, stat, &out) {
        Ok(()) => SUCCESS,
        Err(_) => EFAULT,
    })
}

fn environ_get(mut caller: Caller<'_, HostState>, mut array: i32, mut buf: i32) -> HostResult {
    let env = caller.data().env.environment.clone();
    for (k, v) in env.iter() {
        let entry = format!("{k}={v}\0");
        if memory::write_u32(&mut caller, array, buf as u32).is_err()
            || memory::write(&mut caller, buf, entry.as_bytes()).is_err()
        {
            return Ok(EFAULT);
        }
        buf = buf.wrapping_add(entry.len() as i32);
        array = array.wrapping_add(4);
    }
    Ok(SUCCESS)
}

fn environ_sizes_get(mut caller: Caller<'_, HostState>, count: i32, size: i32) -> HostResult {
    let env = caller.data().env.environment.clone();
    let total: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    if memory::write_u32(&mut caller, count, env.len() as u32).is_err()
        || memory::write_u32(&mut caller, size, total as u32).is_err()
    {
        return Ok(EFAULT);
    }
    Ok(SUCCESS)
}

fn args_sizes_get(mut caller: Caller<'_, HostState>, argc: i32, size: i32) -> HostResult {
    if memory::write_u32(&mut caller, argc, 0).is_err() || memory::write_u32(&mut caller, size, 0).is_err() {
        return Ok(EFAULT);
    }
    Ok(SUCCESS)
}

fn clock_time_get(mut caller: Caller<'_, HostState>, id: i32, _precision: i64, ret: i32) -> HostResult {
    let nanos = match id {
        0 => super::clock::now_nanos(),
        1 => monotonic_nanos(),
        _ => return Ok(ENOTSUP),
    };
    Ok(match memory::write_u64(&mut caller, ret, nanos) {
        Ok(()) => SUCCESS,
        Err(_) => EFAULT,
    })
}

fn monotonic_nanos() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn random_get(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> HostResult {
    let len = len as u32;
    if len > RANDOM_MAX {
        return Ok(EINVAL);
    }
    if len == 0 {
        return Ok(SUCCESS);
    }
    let mut bytes = vec![0u8; len as usize];
    fill_random(&mut bytes);
    Ok(match memory::write(&mut caller, ptr, &bytes) {
        Ok(()) => SUCCESS,
        Err(_) => EFAULT,
    })
}

fn fill_random(out: &mut [u8]) {
    if let Err(e) = getrandom::fill(out) {
        tracing::error!("random_get: the system random source failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iovec(memory: &mut [u8], at: usize, buf: u32, len: u32) {
        memory[at..at + 4].copy_from_slice(&buf.to_le_bytes());
        memory[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
    }

    #[test]
    fn overlapping_iovecs_copy_at_most_one_line() {
        let mut memory = vec![b'a'; 64 * 1024 + 2048 * 8];
        let table = 64 * 1024;
        for i in 0..MAX_IOVECS {
            iovec(&mut memory, table + i * 8, 0, 64 * 1024);
        }
        let (kept, total) = gather(&memory, table as i32, MAX_IOVECS as i32).unwrap();
        assert_eq!(kept.len(), MAX_LOG_LINE);
        assert_eq!(total, MAX_IOVECS * 64 * 1024);
        assert_eq!(gather(&memory, table as i32, 2048), Err(EINVAL));
        assert_eq!(gather(&memory, table as i32, -1), Err(EINVAL));
        assert_eq!(gather(&memory, i32::MAX, 1), Err(EFAULT));
        iovec(&mut memory, 0, u32::MAX - 2, 10);
        assert_eq!(gather(&memory, 0, 1), Err(EFAULT));
    }

    proptest::proptest! {
        /// Any iovec table in any memory: no panic, at most one log line kept, and the
        /// length reported is the sum the table claims (when it is readable).
        #[test]
        fn any_iovec_table_is_bounded(
            memory in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
            iovs in proptest::num::i32::ANY,
            count in -4i32..2048,
        ) {
            if let Ok((kept, total)) = gather(&memory, iovs, count) {
                proptest::prop_assert!(kept.len() <= MAX_LOG_LINE.min(total));
                proptest::prop_assert!(count as usize <= MAX_IOVECS);
            }
        }
    }
}
