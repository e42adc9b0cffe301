//! Attack modules that make the host hold bytes across requests: shared data, shared queues,
//! plugin metrics, HTTP callouts and gRPC streams (the last two started as the root context,
//! reached from the request through `proxy_set_effective_context`, so ending the request does
//! not cancel them).

use super::wat::at::{BIG, EMPTY_MAP, KEY, LARGE, TEXT, TOKEN};
use super::wat::ok::{BAD_ARGUMENT, INTERNAL_FAILURE, NOT_FOUND, OK};
use super::wat::{Module, expect, pairs, repeat};

const MIB: u32 = 1024 * 1024;

/// Four unique shared-data keys of 64 KiB each per request.
pub fn shared_data() -> Module {
    let set = format!(
        "(call $proxy_set_shared_data (i32.const {KEY}) (i32.const 32) (i32.const {BIG}) (i32.const 65536) \
         (i32.const 0))"
    );
    let body = format!("(call $unique (i32.const {KEY}))\n      {}", expect(1, &set, OK | INTERNAL_FAILURE));
    Module { request_headers: repeat("i", 4, &body), ..Module::default() }
}

/// A new shared queue per request, and four 64 KiB items on it.
pub fn shared_queue() -> Module {
    let enqueue =
        format!("(call $proxy_enqueue_shared_queue (local.get $t) (i32.const {BIG}) (i32.const 65536))");
    let request_headers = format!(
        "(call $unique (i32.const {KEY}))
    (local.set $s (call $proxy_register_shared_queue (i32.const {KEY}) (i32.const 32) (i32.const {TOKEN})))
    {}(local.set $t (select (i32.load (i32.const {TOKEN})) (i32.const 0) (i32.eqz (local.get $s))))
    {}",
        expect(1, "(local.get $s)", OK | INTERNAL_FAILURE),
        repeat("i", 4, &expect(2, &enqueue, OK | INTERNAL_FAILURE | NOT_FOUND)),
    );
    Module { request_headers, ..Module::default() }
}

/// The metric name that tries to forge lines of the Prometheus exposition.
pub const FORGED_METRIC: &str =
    "forged\n# HELP weir_forged gotcha\n# TYPE weir_forged counter\nweir_forged 1";

/// Four new 207-byte counters per request (`hostile.metric.<unique>xxx…`), after defining
/// and incrementing the forged name.
pub fn metrics() -> Module {
    let prefix = b"hostile.metric.".to_vec();
    let name_len = prefix.len() as u32 + 32 + 160;
    let define_forged = format!(
        "(call $proxy_define_metric (i32.const 0) (i32.const {TEXT}) (i32.const {}) (i32.const {TOKEN}))",
        FORGED_METRIC.len()
    );
    let define = format!(
        "(call $proxy_define_metric (i32.const 0) (i32.const {KEY}) (i32.const {name_len}) (i32.const {TOKEN}))"
    );
    let request_headers = format!(
        "{}{}{}",
        expect(1, &define_forged, OK),
        expect(
            2,
            &format!("(call $proxy_increment_metric (i32.load (i32.const {TOKEN})) (i64.const 1))"),
            OK
        ),
        repeat(
            "i",
            4,
            &format!(
                "(call $unique (i32.const {}))\n      {}",
                KEY + prefix.len() as u32,
                expect(3, &define, OK | INTERNAL_FAILURE)
            )
        ),
    );
    Module {
        data: vec![
            (TEXT, FORGED_METRIC.as_bytes().to_vec()),
            (KEY, prefix.clone()),
            (KEY + prefix.len() as u32 + 32, vec![b'x'; 160]),
        ],
        request_headers,
        ..Module::default()
    }
}

/// Per request, as the root context: an HTTP callout with a 1 MiB body to `hang` (which never
/// answers; 60 s timeout), and one with a 5 MiB body (over `max_callout_bytes`).
pub fn http_callouts() -> Module {
    let headers = pairs(&[(":method", "POST"), (":path", "/hostile"), (":authority", "hang")]);
    let hdrs = TEXT + 64;
    let call = |size: u32| {
        format!(
            "(call $proxy_http_call (i32.const {TEXT}) (i32.const 4) (i32.const {hdrs}) (i32.const {}) \
             (i32.const {LARGE}) (i32.const {size}) (i32.const {EMPTY_MAP}) (i32.const 4) (i32.const 60000) \
             (i32.const {TOKEN}))",
            headers.len()
        )
    };
    let request_headers = format!(
        "{}{}{}{}",
        expect(1, "(call $to_root)", OK),
        expect(2, &call(MIB), OK | INTERNAL_FAILURE),
        expect(3, &call(5 * MIB), BAD_ARGUMENT),
        expect(4, "(call $to_http)", OK),
    );
    Module {
        pages: (LARGE + 5 * MIB) / 65536 + 1,
        data: vec![(TEXT, b"hang".to_vec()), (hdrs, headers)],
        request_headers,
        ..Module::default()
    }
}

/// Per request, as the root context: a gRPC stream to `hang-h2` (HTTP/2, never answers), a
/// 1 MiB message on it, then a 5 MiB one (over `max_callout_bytes`).
pub fn grpc_stream() -> Module {
    let open = format!(
        "(call $proxy_grpc_stream (i32.const {TEXT}) (i32.const 7) (i32.const {}) (i32.const 12) \
         (i32.const {}) (i32.const 4) (i32.const {EMPTY_MAP}) (i32.const 4) (i32.const {TOKEN}))",
        TEXT + 32,
        TEXT + 64
    );
    let send = |size: u32| {
        format!("(call $proxy_grpc_send (local.get $t) (i32.const {LARGE}) (i32.const {size}) (i32.const 0))")
    };
    let request_headers = format!(
        "{}(local.set $s {open})
    {}(local.set $t (select (i32.load (i32.const {TOKEN})) (i32.const 0) (i32.eqz (local.get $s))))
    {}{}(drop (call $to_http))",
        expect(1, "(call $to_root)", OK),
        expect(2, "(local.get $s)", OK | INTERNAL_FAILURE),
        expect(3, &send(MIB), OK | BAD_ARGUMENT | NOT_FOUND),
        expect(4, &send(5 * MIB), BAD_ARGUMENT | NOT_FOUND),
    );
    Module {
        pages: (LARGE + 5 * MIB) / 65536 + 1,
        data: vec![
            (TEXT, b"hang-h2".to_vec()),
            (TEXT + 32, b"hostile.Sink".to_vec()),
            (TEXT + 64, b"Push".to_vec()),
        ],
        request_headers,
        ..Module::default()
    }
}
