//! Hand-written proxy-wasm 0.2.1 modules (WebAssembly text), one attack each: a fixed frame
//! (imports, exports, a bump-free allocator, a per-VM nonce) around the attack's instructions
//! in `proxy_on_request_headers` (or the response callbacks), compiled by the test with the
//! `wat` crate.
//!
//! A module checks what the hostcalls it attacks answer: `$expect(check, got, mask)` passes
//! when bit `got` of `mask` is set; otherwise the request is answered with a local reply of
//! status `400 + 20 × check + got` (`got` capped at 19), once, so a host that answers
//! otherwise than weir's design says shows up as a 4xx the table decodes (see `super::evidence::decode`).

use std::fmt::Write;

/// Memory layout shared by every module.
pub mod at {
    /// Out-parameters: a u32 at 8 (tokens, ids), a u32 at 12 (`nwritten`), a u64 at 16 (time).
    pub const TOKEN: u32 = 8;
    /// `nwritten` of `fd_write`.
    pub const NWRITTEN: u32 = 12;
    /// An empty serialized header map (4 zero bytes).
    pub const EMPTY_MAP: u32 = 240;
    /// Unique keys and names (the frame's `$unique`): 256..1024.
    pub const KEY: u32 = 256;
    /// Data segments: 1024..4096.
    pub const TEXT: u32 = 1024;
    /// `fd_write` iovecs: 2048 of them, 4096..20480.
    pub const IOVECS: u32 = 4096;
    /// What the host allocates in the guest (`proxy_on_memory_allocate`): 32 KiB at most.
    pub const ALLOC: u32 = 32 * 1024;
    /// 64 KiB of `a`, filled at VM start.
    pub const BIG: u32 = 64 * 1024;
    /// Larger regions (1 MiB and up) start here.
    pub const LARGE: u32 = 128 * 1024;
}

/// Statuses as `$expect` masks.
pub mod ok {
    /// `Ok`.
    pub const OK: u32 = 1;
    /// `NotFound`.
    pub const NOT_FOUND: u32 = 1 << 1;
    /// `BadArgument`.
    pub const BAD_ARGUMENT: u32 = 1 << 2;
    /// `InternalFailure`.
    pub const INTERNAL_FAILURE: u32 = 1 << 10;
    /// WASI `EINVAL`.
    pub const EINVAL: u32 = 1 << 28;
}

/// One attack module: memory, data, and the instructions of each callback it attacks in.
#[derive(Debug, Clone, Default)]
pub struct Module {
    /// Initial memory, in 64 KiB pages (at least 3).
    pub pages: u32,
    /// Data segments: address and bytes.
    pub data: Vec<(u32, Vec<u8>)>,
    /// Run once in `proxy_on_vm_start` (locals `$i`, `$p`).
    pub vm_start: String,
    /// Body of `proxy_on_request_headers` (params `$ctx $n $eos`, locals `$i $j $s $t $p`).
    pub request_headers: String,
    /// Body of `proxy_on_response_headers` (same names).
    pub response_headers: String,
    /// Body of `proxy_on_response_body` (params `$ctx $size $eos`, same locals).
    pub response_body: String,
    /// More functions.
    pub funcs: String,
}

const IMPORTS: &[(&str, &str, &str)] = &[
    ("env", "proxy_log", "i32 i32 i32"),
    ("env", "proxy_get_current_time_nanoseconds", "i32"),
    ("env", "proxy_set_effective_context", "i32"),
    ("env", "proxy_set_tick_period_milliseconds", "i32"),
    ("env", "proxy_set_shared_data", "i32 i32 i32 i32 i32"),
    ("env", "proxy_register_shared_queue", "i32 i32 i32"),
    ("env", "proxy_enqueue_shared_queue", "i32 i32 i32"),
    ("env", "proxy_define_metric", "i32 i32 i32 i32"),
    ("env", "proxy_increment_metric", "i32 i64"),
    ("env", "proxy_http_call", "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    ("env", "proxy_grpc_stream", "i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    ("env", "proxy_grpc_send", "i32 i32 i32 i32"),
    ("env", "proxy_add_header_map_value", "i32 i32 i32 i32 i32"),
    ("env", "proxy_remove_header_map_value", "i32 i32 i32"),
    ("env", "proxy_set_header_map_pairs", "i32 i32 i32"),
    ("env", "proxy_set_property", "i32 i32 i32 i32"),
    ("env", "proxy_get_property", "i32 i32 i32 i32"),
    ("env", "proxy_set_buffer_bytes", "i32 i32 i32 i32 i32"),
    ("env", "proxy_send_local_response", "i32 i32 i32 i32 i32 i32 i32 i32"),
    ("wasi_snapshot_preview1", "fd_write", "i32 i32 i32 i32"),
];

const LOCALS: &str = "(local $i i32) (local $j i32) (local $s i32) (local $t i32) (local $p i32)";

/// The frame: no-op callbacks, the root context's id, the nonce, `$expect`, `$unique`.
const FRAME: &str = r#"
  (global $root (mut i32) (i32.const 0))
  (global $nonce (mut i64) (i64.const 0))
  (global $seq (mut i64) (i64.const 0))
  (global $replied (mut i32) (i32.const 0))
  (global $count (mut i32) (i32.const 0))
  (global $http (mut i32) (i32.const 0))
  (global $in_root (mut i32) (i32.const 0))
  (func $to_root (result i32)
    (global.set $in_root (i32.const 1))
    (call $proxy_set_effective_context (global.get $root)))
  (func $to_http (result i32)
    (global.set $in_root (i32.const 0))
    (call $proxy_set_effective_context (global.get $http)))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (select (i32.const 32768) (i32.const 0) (i32.le_u (local.get $size) (i32.const 32768))))
  (func (export "proxy_on_context_create") (param $ctx i32) (param $parent i32)
    (if (i32.eqz (local.get $parent)) (then (global.set $root (local.get $ctx)))))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_tick") (param i32))
  (func (export "proxy_on_queue_ready") (param i32 i32))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32))
  (func (export "proxy_on_grpc_receive_initial_metadata") (param i32 i32 i32))
  (func (export "proxy_on_grpc_receive") (param i32 i32 i32))
  (func (export "proxy_on_grpc_receive_trailing_metadata") (param i32 i32 i32))
  (func (export "proxy_on_grpc_close") (param i32 i32 i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))
  (func $fail (param $check i32) (param $got i32)
    (if (global.get $replied) (then (return)))
    (global.set $replied (i32.const 1))
    ;; The reply is the HTTP context's, also when the check ran as the root context.
    (if (global.get $in_root) (then (drop (call $proxy_set_effective_context (global.get $http)))))
    (drop (call $proxy_send_local_response
      (i32.add (i32.const 400) (i32.add (i32.mul (local.get $check) (i32.const 20))
        (select (local.get $got) (i32.const 19) (i32.lt_u (local.get $got) (i32.const 19)))))
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 240) (i32.const 4) (i32.const -1)))
    (if (global.get $in_root) (then (drop (call $proxy_set_effective_context (global.get $root))))))
  (func $expect (param $check i32) (param $got i32) (param $mask i32)
    (if (i32.eqz (i32.and (local.get $mask) (i32.shl (i32.const 1)
          (select (local.get $got) (i32.const 31) (i32.lt_u (local.get $got) (i32.const 31))))))
      (then (call $fail (local.get $check) (local.get $got)))))
  (func $hex (param $p i32) (param $v i64)
    (local $i i32) (local $d i32)
    (loop $next
      (local.set $d (i32.wrap_i64 (i64.and (i64.const 15) (i64.shr_u (local.get $v)
        (i64.extend_i32_u (i32.sub (i32.const 60) (i32.mul (local.get $i) (i32.const 4))))))))
      (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.add (local.get $d)
        (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $d) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 16)))))
  (func $unique (param $p i32)
    (call $hex (local.get $p) (global.get $nonce))
    (call $hex (i32.add (local.get $p) (i32.const 16)) (global.get $seq))
    (global.set $seq (i64.add (global.get $seq) (i64.const 1))))
"#;

impl Module {
    /// The module as WebAssembly text.
    pub fn wat(&self) -> String {
        let mut out = String::from("(module\n");
        for (module, name, params) in IMPORTS {
            let _ = writeln!(
                out,
                "  (import \"{module}\" \"{name}\" (func ${name} (param {params}) (result i32)))"
            );
        }
        let _ = writeln!(out, "  (memory (export \"memory\") {})", self.pages.max(3));
        for (addr, bytes) in &self.data {
            let _ = writeln!(out, "  (data (i32.const {addr}) \"{}\")", escape(bytes));
        }
        out.push_str(FRAME);
        let _ = write!(
            out,
            r#"
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) {LOCALS}
    (drop (call $proxy_get_current_time_nanoseconds (i32.const 16)))
    (global.set $nonce (i64.load (i32.const 16)))
    (memory.fill (i32.const {big}) (i32.const 97) (i32.const 65536))
    {vm_start}
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32) {LOCALS}
    (global.set $replied (i32.const 0))
    (global.set $http (local.get $ctx))
    (global.set $in_root (i32.const 0))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    {request_headers}
    (global.get $replied))
  (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32) {LOCALS}
    (global.set $http (local.get $ctx))
    {response_headers}
    (i32.const 0))
  (func (export "proxy_on_response_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32) {LOCALS}
    (global.set $http (local.get $ctx))
    {response_body}
    (i32.const 0))
{funcs}
)"#,
            big = at::BIG,
            vm_start = self.vm_start,
            request_headers = self.request_headers,
            response_headers = self.response_headers,
            response_body = self.response_body,
            funcs = self.funcs,
        );
        out
    }
}

/// Bytes as a WAT string body (every byte escaped).
fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// `(call $expect (i32.const check) got (i32.const mask))`.
pub fn expect(check: u32, got: &str, mask: u32) -> String {
    format!("(call $expect (i32.const {check}) {got} (i32.const {mask}))\n    ")
}

/// `body` run `n` times with `$var` from 0 to `n - 1`.
pub fn repeat(var: &str, n: u32, body: &str) -> String {
    format!(
        "(local.set ${var} (i32.const 0))
    (block $done_{var} (loop $next_{var}
      (br_if $done_{var} (i32.ge_u (local.get ${var}) (i32.const {n})))
      {body}
      (local.set ${var} (i32.add (local.get ${var}) (i32.const 1)))
      (br $next_{var})))\n    "
    )
}

/// A serialized header map (proxy-wasm's pairs encoding).
pub fn pairs(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = (entries.len() as u32).to_le_bytes().to_vec();
    for (k, v) in entries {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in entries {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Compiles `module` and writes it to `dir/<name>.wasm`.
pub fn write(dir: &std::path::Path, name: &str, module: &Module) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("{name}.wasm"));
    let binary = wat::parse_str(module.wat()).map_err(|e| anyhow::anyhow!("module {name}: {e}"))?;
    std::fs::write(&path, binary)?;
    Ok(path)
}
