//! Hand-written proxy-wasm 0.2.1 modules (WebAssembly text) that return garbage: an undefined
//! action from `proxy_on_request_headers`, and a battery of hostcalls with undefined enum
//! values, pointers outside memory, absurd sizes and a malformed serialized header map, with an
//! allocator that returns a pointer outside memory. The test compiles them with the `wat` crate.

/// A pointer past the end of the module's one page of memory.
const BAD: &str = "(i32.const -16)";
/// An absurd length.
const HUGE: &str = "(i32.const 0x7fffffff)";

/// The exports every proxy-wasm 0.2.1 module has; `$request_headers` is the body of
/// `proxy_on_request_headers` (it must leave an i32 action on the stack).
fn module(imports: &str, request_headers: &str) -> String {
    format!(
        r#"(module
  {imports}
  (memory (export "memory") 1)
  ;; ":path", "request\0path", and a header map that claims 2^31-1 pairs.
  (data (i32.const 16) ":path")
  (data (i32.const 32) "request\00path")
  (data (i32.const 64) "\ff\ff\ff\7f\05\00\00\00\09\00\00\00")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) {BAD})
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    {request_headers})
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))
)"#
    )
}

/// `proxy_on_request_headers` returns 77, which no ABI version defines.
pub fn undefined_action() -> String {
    module("", "(i32.const 77)")
}

/// `proxy_on_request_headers` makes 28 hostcalls with garbage arguments, ignores what they
/// return, then continues (0).
pub fn garbage_hostcalls() -> String {
    let imports = [
        ("proxy_log", "i32 i32 i32"),
        ("proxy_get_header_map_value", "i32 i32 i32 i32 i32"),
        ("proxy_get_header_map_pairs", "i32 i32 i32"),
        ("proxy_set_header_map_pairs", "i32 i32 i32"),
        ("proxy_add_header_map_value", "i32 i32 i32 i32 i32"),
        ("proxy_replace_header_map_value", "i32 i32 i32 i32 i32"),
        ("proxy_remove_header_map_value", "i32 i32 i32"),
        ("proxy_get_buffer_bytes", "i32 i32 i32 i32 i32"),
        ("proxy_set_buffer_bytes", "i32 i32 i32 i32 i32"),
        ("proxy_get_property", "i32 i32 i32 i32"),
        ("proxy_set_property", "i32 i32 i32 i32"),
        ("proxy_send_local_response", "i32 i32 i32 i32 i32 i32 i32 i32"),
        ("proxy_get_shared_data", "i32 i32 i32 i32 i32"),
        ("proxy_set_shared_data", "i32 i32 i32 i32 i32"),
        ("proxy_continue_stream", "i32"),
        ("proxy_set_effective_context", "i32"),
        ("proxy_define_metric", "i32 i32 i32 i32"),
        ("proxy_increment_metric", "i32 i64"),
        ("proxy_http_call", "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    ]
    .iter()
    .map(|(name, params)| format!(r#"(import "env" "{name}" (func ${name} (param {params}) (result i32)))"#))
    .collect::<Vec<_>>()
    .join("\n  ");
    let n = |v: i64| format!("(i32.const {v})");
    let calls: Vec<(&str, Vec<String>)> = vec![
        ("proxy_log", vec![n(99), n(16), n(5)]),
        ("proxy_log", vec![n(2), BAD.into(), HUGE.into()]),
        ("proxy_get_header_map_value", vec![n(99), n(16), n(5), n(0), n(4)]),
        ("proxy_get_header_map_value", vec![n(0), BAD.into(), HUGE.into(), BAD.into(), BAD.into()]),
        ("proxy_get_header_map_value", vec![n(0), n(16), n(5), BAD.into(), BAD.into()]),
        ("proxy_get_header_map_value", vec![n(0), n(16), n(5), n(0), n(4)]),
        ("proxy_get_header_map_pairs", vec![n(0), BAD.into(), BAD.into()]),
        ("proxy_get_header_map_pairs", vec![n(0), n(0), n(4)]),
        ("proxy_get_header_map_pairs", vec![n(99), n(0), n(4)]),
        ("proxy_set_header_map_pairs", vec![n(0), n(0), HUGE.into()]),
        ("proxy_set_header_map_pairs", vec![n(0), n(64), n(12)]),
        ("proxy_add_header_map_value", vec![n(0), n(0), HUGE.into(), n(0), HUGE.into()]),
        ("proxy_replace_header_map_value", vec![n(99), n(16), n(5), n(16), n(5)]),
        ("proxy_remove_header_map_value", vec![n(0), BAD.into(), n(100)]),
        ("proxy_get_buffer_bytes", vec![n(99), n(0), HUGE.into(), n(0), n(4)]),
        ("proxy_get_buffer_bytes", vec![n(0), HUGE.into(), HUGE.into(), BAD.into(), BAD.into()]),
        ("proxy_set_buffer_bytes", vec![n(0), HUGE.into(), HUGE.into(), BAD.into(), HUGE.into()]),
        ("proxy_get_property", vec![BAD.into(), HUGE.into(), BAD.into(), BAD.into()]),
        ("proxy_get_property", vec![n(32), n(12), n(0), n(4)]),
        ("proxy_set_property", vec![n(0), HUGE.into(), n(0), HUGE.into()]),
        (
            "proxy_send_local_response",
            vec![n(200), BAD.into(), n(100), BAD.into(), n(100), BAD.into(), n(100), n(0)],
        ),
        ("proxy_get_shared_data", vec![BAD.into(), HUGE.into(), BAD.into(), BAD.into(), BAD.into()]),
        ("proxy_set_shared_data", vec![n(0), HUGE.into(), n(0), HUGE.into(), n(0)]),
        ("proxy_continue_stream", vec![n(99)]),
        ("proxy_set_effective_context", vec![HUGE.into()]),
        ("proxy_define_metric", vec![n(99), n(16), n(5), BAD.into()]),
        ("proxy_increment_metric", vec![HUGE.into(), "(i64.const -1)".into()]),
        (
            "proxy_http_call",
            vec![
                BAD.into(),
                HUGE.into(),
                n(64),
                n(12),
                BAD.into(),
                HUGE.into(),
                n(64),
                n(12),
                n(100),
                BAD.into(),
            ],
        ),
    ];
    let mut body = String::new();
    for (name, args) in calls {
        body.push_str(&format!("(drop (call ${name} {}))\n    ", args.join(" ")));
    }
    body.push_str("(i32.const 0)");
    module(&imports, &body)
}
