//! The hostile-filter attacks on what the host holds for a guest: shared data, queues,
//! metrics, callouts, header maps, filter state, bodies, property paths, response heads. The
//! comment on each says what weir did before issue 19 was fixed, and so which assertion that
//! behaviour fails.

use serde_json::json;

use super::filters::{BOUND, Bound, CALLOUT_BOUND, EnvoyRun, Extra, FilterAttack, OK, none};
use super::{held, stream};
use crate::faults::request::Outcome::Status;

/// The attacks, in the table's order.
pub const ATTACKS: &[FilterAttack] = &[
    // Old: shared data unbounded: 4 × 64 KiB kept per request (250 MiB; no refusal counted).
    FilterAttack {
        key: "shared-data",
        title: "4 new shared-data keys of 64 KiB per request (`max_shared_data_bytes` 16 MiB)",
        module: held::shared_data,
        limits: || json!({"max_shared_data_bytes": 16 << 20}),
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["set_shared_data: Ok or InternalFailure"],
        refusals: &[("max_shared_data_bytes", |sent| (4 * sent).saturating_sub(256))],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: queues unbounded: a queue and 4 × 64 KiB kept per request (250 MiB).
    FilterAttack {
        key: "shared-queue",
        title: "a new shared queue and 4 items of 64 KiB per request (`max_queue_bytes` 16 MiB)",
        module: held::shared_queue,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["register: Ok or InternalFailure", "enqueue: Ok, InternalFailure or NotFound"],
        refusals: &[("max_queue_bytes", |sent| sent.saturating_sub(300))],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: metrics unbounded, and a name with `\n# HELP` written unescaped into `/stats` and
    // `/stats/prometheus` (forged lines; no refusal counted).
    FilterAttack {
        key: "metrics",
        title: "4 new 207-byte metrics per request, and one named `forged\\n# HELP weir_forged …`",
        module: held::metrics,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["define the forged name: Ok", "increment it: Ok", "define: Ok or InternalFailure"],
        refusals: &[("max_metrics", |sent| (4 * sent).saturating_sub(1000))],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::Exposition,
    },
    // Old: callout bodies unbounded: 1 MiB held per request until the 60 s timeout (1 GiB),
    // and the 5 MiB call accepted (check 3 fails).
    FilterAttack {
        key: "http-callouts",
        title: "root-context HTTP callouts per request to a cluster that never answers: 1 MiB body, then 5 MiB",
        module: held::http_callouts,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["to root: Ok", "1 MiB call: Ok or InternalFailure", "5 MiB call: BadArgument", "back: Ok"],
        refusals: &[
            ("max_callout_bytes_in_flight", |sent| sent.saturating_sub(64)),
            ("max_callout_bytes", |sent| sent),
        ],
        bound: CALLOUT_BOUND,
        envoy: EnvoyRun::Requests(100),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: gRPC sends unbounded: every message queued for good on a stream that never drains.
    FilterAttack {
        key: "grpc-stream",
        title: "a root-context gRPC stream per request to a cluster that never answers: a 1 MiB message, then 5 MiB",
        module: held::grpc_stream,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &[
            "to root: Ok",
            "open: Ok or InternalFailure",
            "1 MiB send: Ok, BadArgument or NotFound",
            "5 MiB send: BadArgument or NotFound",
        ],
        refusals: &[
            ("max_callout_bytes_in_flight", |sent| sent.saturating_sub(128)),
            ("max_callout_bytes", |sent| sent),
        ],
        bound: CALLOUT_BOUND,
        envoy: EnvoyRun::Requests(100),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: header maps unbounded (all eight adds Ok: check 2 fails) and set_header_map_pairs
    // with thousands of pairs accepted (~10× amplification).
    FilterAttack {
        key: "header-maps",
        title: "8 adds of a 64 KiB request header, then `set_header_map_pairs` with 5000 pairs",
        module: stream::header_maps,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["adds 1–3: Ok", "adds 4–8: BadArgument", "5000 pairs: BadArgument", "remove: Ok"],
        refusals: &[("max_header_map_bytes", |sent| 5 * sent), ("max_header_map_entries", |sent| sent)],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: filter state unbounded (all 32 sets Ok: check 2 fails).
    FilterAttack {
        key: "filter-state",
        title: "32 filter-state entries of 64 KiB per request (`proxy_set_property`)",
        module: stream::filter_state,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["entries 1–15: Ok", "entries 17–32: BadArgument"],
        refusals: &[("max_filter_state_bytes", |sent| 16 * sent)],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: set_buffer_bytes appends unbounded (all 32 Ok: check 2 fails).
    FilterAttack {
        key: "buffer",
        title: "32 appends of 64 KiB to the response body (`proxy_set_buffer_bytes`), then the body replaced",
        module: stream::buffer_appends,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["appends 1–15: Ok", "appends 17–32: BadArgument", "replace: Ok"],
        refusals: &[("buffer_limit_bytes", |sent| 16 * sent)],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: the path was parsed (~40× amplification: ~40 MB per call; the peak bound fails).
    FilterAttack {
        key: "property",
        title: "`proxy_get_property` with a path of 1 MiB of NULs",
        module: stream::property_path,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["get_property: NotFound"],
        refusals: &[],
        bound: Bound { after_mib: 64, peak_mib: 32, why: "peak 32 MiB: one parsed path cost ~40 MB" },
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: the 1 MiB header was sent to the client (no 502).
    FilterAttack {
        key: "response-header",
        title: "a 1 MiB response header added by the plugin (`max_header_map_bytes` 2 MiB; listener limit 60 KiB)",
        module: stream::huge_response_header,
        limits: || json!({"max_header_map_bytes": 2 << 20}),
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: &[Status(502)],
        checks: &["add: Ok"],
        refusals: &[],
        bound: BOUND,
        envoy: EnvoyRun::Requests(200),
        known_defect: None,
        extra: Extra::ResponseTooLarge,
    },
];
