//! Attack modules aimed at the host's handling of the guest itself: WASI `fd_write` with
//! overlapping iovecs, tick timers set from requests, forged log lines, a leak up to the
//! memory cap, and unbounded recursion.

use super::wat::at::{BIG, IOVECS, NWRITTEN, TEXT};
use super::wat::ok::{EINVAL, OK};
use super::wat::{Module, expect, repeat};

/// Per request: `fd_write` to stdout with 1024 iovecs that all name the same 64 KiB (Ok, the
/// whole 64 MiB reported written, at most one 16 KiB line logged), then with 2048 (`EINVAL`).
pub fn fd_write() -> Module {
    let iovec = format!(
        "(i32.store (i32.add (i32.const {IOVECS}) (i32.mul (local.get $i) (i32.const 8))) (i32.const {BIG}))
      (i32.store (i32.add (i32.const {}) (i32.mul (local.get $i) (i32.const 8))) (i32.const 65536))",
        IOVECS + 4
    );
    let write = |n: u32| {
        format!("(call $fd_write (i32.const 1) (i32.const {IOVECS}) (i32.const {n}) (i32.const {NWRITTEN}))")
    };
    Module {
        vm_start: repeat("i", 2048, &iovec),
        request_headers: format!(
            "{}{}{}",
            expect(1, &write(1024), OK),
            expect(2, &format!("(i32.ne (i32.load (i32.const {NWRITTEN})) (i32.const 67108864))"), OK),
            expect(3, &write(2048), EINVAL),
        ),
        ..Module::default()
    }
}

/// Per request, as the root context: a new tick period (10–16 ms).
pub fn tick_timers() -> Module {
    let period = "(call $proxy_set_tick_period_milliseconds \
                  (i32.add (i32.const 10) (i32.rem_u (global.get $count) (i32.const 7))))";
    Module {
        request_headers: format!(
            "{}{}{}",
            expect(1, "(call $to_root)", OK),
            expect(2, period, OK),
            expect(3, "(call $to_http)", OK)
        ),
        ..Module::default()
    }
}

/// The text that tries to forge log lines: a newline, a fake line, a carriage return and
/// terminal escapes that would erase the line on a terminal.
pub const FORGED_LOG: &str = "hostile-log-start\nFORGED-LINE 2026-01-01T00:00:00Z ERROR weir::admin: token accepted\r\x1b[2K\x1b[1Ahostile-log-end";

/// Per request: the forged text through `proxy_log` and through WASI stderr, and a 64 KiB
/// line through `proxy_log` (cut at 16 KiB).
pub fn forged_logs() -> Module {
    let len = FORGED_LOG.len();
    Module {
        data: vec![(TEXT, FORGED_LOG.as_bytes().to_vec())],
        vm_start: format!(
            "(i32.store (i32.const {IOVECS}) (i32.const {TEXT})) (i32.store (i32.const {}) (i32.const {len}))",
            IOVECS + 4
        ),
        request_headers: format!(
            "{}{}{}",
            expect(1, &format!("(call $proxy_log (i32.const 2) (i32.const {TEXT}) (i32.const {len}))"), OK),
            expect(2, &format!("(call $proxy_log (i32.const 2) (i32.const {BIG}) (i32.const 65536))"), OK),
            expect(
                3,
                &format!(
                    "(call $fd_write (i32.const 2) (i32.const {IOVECS}) (i32.const 1) (i32.const {NWRITTEN}))"
                ),
                OK
            ),
        ),
        ..Module::default()
    }
}

/// Per request: 1 MiB more linear memory, every page of it touched; traps once `memory.grow`
/// fails (at the memory cap).
pub fn leak() -> Module {
    let touch = "(i32.store8 (i32.add (i32.mul (local.get $p) (i32.const 65536)) \
                 (i32.mul (local.get $i) (i32.const 4096))) (i32.const 1))";
    Module {
        request_headers: format!(
            "(local.set $p (memory.grow (i32.const 16)))
    (if (i32.eq (local.get $p) (i32.const -1)) (then unreachable))
    {}",
            repeat("i", 256, touch)
        ),
        ..Module::default()
    }
}

/// Per request: recursion without end, each frame holding sixteen live i64 locals.
pub fn recursion() -> Module {
    let locals: String = (0..16).map(|i| format!("(local $l{i} i64) ")).collect();
    let sets: String = (0..16)
        .map(|i| format!("(local.set $l{i} (i64.add (local.get $n) (i64.const {i})))\n    "))
        .collect();
    let sum: String = (0..16).fold("(call $deep (local.get $l0))".to_string(), |acc, i| {
        format!("(i64.add {acc} (local.get $l{i}))")
    });
    Module {
        funcs: format!("  (func $deep (param $n i64) (result i64) {locals}\n    {sets}{sum})"),
        request_headers: "(drop (call $deep (i64.const 0)))".into(),
        ..Module::default()
    }
}
