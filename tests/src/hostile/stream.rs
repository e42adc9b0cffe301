//! Attack modules that grow what one request holds: its header maps (adds of 64 KiB values,
//! a map of 5000 pairs), its filter state, its response body, a property path of 1 MiB, and a
//! 1 MiB response header.

use super::wat::at::{BIG, LARGE, NWRITTEN, TEXT, TOKEN};
use super::wat::ok::{BAD_ARGUMENT, NOT_FOUND, OK};
use super::wat::{Module, expect, repeat};

const MIB: u32 = 1024 * 1024;
/// Pairs in the map `set_header_map_pairs` is given.
pub const PAIRS: u32 = 5000;
/// Its serialized size: the count, two lengths per pair, `x\0y\0` per pair.
const PAIRS_SIZE: u32 = 4 + PAIRS * 12;

/// Per request: eight adds of a 64 KiB request header (three fit the 256 KiB map limit, five
/// must be `BadArgument`), then `set_header_map_pairs` with 5000 pairs (`BadArgument`: over
/// 1024 entries), then the three added headers removed so the request goes on unchanged.
pub fn header_maps() -> Module {
    let name = |i: &str| format!("(i32.add (i32.const {TEXT}) (i32.mul ({i}) (i32.const 8)))");
    let add = format!(
        "(local.set $s (call $proxy_add_header_map_value (i32.const 0) {} (i32.const 7) (i32.const {BIG}) \
         (i32.const 65536)))
      (if (i32.lt_u (local.get $i) (i32.const 3)) (then {}) (else {}))",
        name("local.get $i"),
        expect(1, "(local.get $s)", OK),
        expect(2, "(local.get $s)", BAD_ARGUMENT),
    );
    let set_pairs = format!(
        "(call $proxy_set_header_map_pairs (i32.const 0) (i32.const {LARGE}) (i32.const {PAIRS_SIZE}))"
    );
    let remove =
        format!("(call $proxy_remove_header_map_value (i32.const 0) {} (i32.const 7))", name("local.get $i"));
    let names: Vec<u8> = (0..8).flat_map(|i| format!("x-big-{i}\0").into_bytes()).collect();
    // The map: its count, then (1, 1) per pair, then `x\0y\0` per pair.
    let lengths = format!(
        "(i32.store (i32.add (i32.const {}) (i32.mul (local.get $i) (i32.const 8))) (i32.const 1))
      (i32.store (i32.add (i32.const {}) (i32.mul (local.get $i) (i32.const 8))) (i32.const 1))
      (i32.store (i32.add (i32.const {}) (i32.mul (local.get $i) (i32.const 4))) (i32.const 0x00790078))",
        LARGE + 4,
        LARGE + 8,
        LARGE + 4 + PAIRS * 8,
    );
    Module {
        pages: 4,
        data: vec![(TEXT, names)],
        vm_start: format!(
            "(i32.store (i32.const {LARGE}) (i32.const {PAIRS}))\n    {}",
            repeat("i", PAIRS, &lengths)
        ),
        request_headers: format!(
            "{}{}{}",
            repeat("i", 8, &add),
            expect(3, &set_pairs, BAD_ARGUMENT),
            repeat("i", 3, &expect(4, &remove, OK))
        ),
        ..Module::default()
    }
}

/// Per request: 32 filter-state entries of 64 KiB (`proxy_set_property`); fifteen fit the
/// 1 MiB limit, the sixteenth and later must be `BadArgument`.
pub fn filter_state() -> Module {
    let body = format!(
        "(i32.store8 (i32.const {}) (i32.add (i32.const 65) (local.get $i)))
      (local.set $s (call $proxy_set_property (i32.const {TEXT}) (i32.const 12) (i32.const {BIG}) (i32.const 65536)))
      (if (i32.lt_u (local.get $i) (i32.const 15)) (then {})
        (else (if (i32.ge_u (local.get $i) (i32.const 16)) (then {}))))",
        TEXT + 11,
        expect(1, "(local.get $s)", OK),
        expect(2, "(local.get $s)", BAD_ARGUMENT),
    );
    Module {
        data: vec![(TEXT, b"hostile.fs.A".to_vec())],
        request_headers: repeat("i", 32, &body),
        ..Module::default()
    }
}

/// On the last chunk of the response body: 32 appends of 64 KiB (`proxy_set_buffer_bytes`);
/// fifteen fit the listener's 1 MiB `buffer_limit_bytes`, the sixteenth and later must be
/// `BadArgument`; then the whole body is replaced by `drained\n`. `content-length` is removed
/// from the response head first, as a filter that changes the body's size must.
pub fn buffer_appends() -> Module {
    let append = format!(
        "(local.set $s (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0x7fffffff) (i32.const 0) \
         (i32.const {BIG}) (i32.const 65536)))
      (if (i32.eqz (local.get $s)) (then (local.set $t (i32.add (local.get $t) (i32.const 1)))))
      (if (i32.lt_u (local.get $i) (i32.const 15)) (then {})
        (else (if (i32.ge_u (local.get $i) (i32.const 16)) (then {}))))",
        expect(1, "(local.get $s)", OK),
        expect(2, "(local.get $s)", BAD_ARGUMENT),
    );
    let replace = format!(
        "(call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (i32.add (local.get $size) \
         (i32.mul (local.get $t) (i32.const 65536))) (i32.const {}) (i32.const 8))",
        TEXT + 16
    );
    Module {
        data: vec![(TEXT, b"content-length".to_vec()), (TEXT + 16, b"drained\n".to_vec())],
        response_headers: format!(
            "(drop (call $proxy_remove_header_map_value (i32.const 2) (i32.const {TEXT}) (i32.const 14)))"
        ),
        response_body: format!(
            "(if (local.get $eos) (then
      (local.set $t (i32.const 0))
      {}{}))",
            repeat("i", 32, &append),
            expect(3, &replace, OK)
        ),
        ..Module::default()
    }
}

/// Per request: `proxy_get_property` with a path of 1 MiB of NULs (`NotFound`).
pub fn property_path() -> Module {
    let get = format!(
        "(call $proxy_get_property (i32.const {LARGE}) (i32.const {MIB}) (i32.const {TOKEN}) (i32.const {NWRITTEN}))"
    );
    Module {
        pages: (LARGE + MIB) / 65536 + 1,
        request_headers: expect(1, &get, NOT_FOUND),
        ..Module::default()
    }
}

/// On the response head: adds `x-huge` with a 1 MiB value (the plugin's header-map limit is
/// raised so the add passes; the listener's 60 KiB response limit must turn it into a 502).
pub fn huge_response_header() -> Module {
    let add = format!(
        "(call $proxy_add_header_map_value (i32.const 2) (i32.const {TEXT}) (i32.const 6) (i32.const {LARGE}) \
         (i32.const {MIB}))"
    );
    Module {
        pages: (LARGE + MIB) / 65536 + 1,
        data: vec![(TEXT, b"x-huge".to_vec())],
        vm_start: format!("(memory.fill (i32.const {LARGE}) (i32.const 104) (i32.const {MIB}))"),
        response_headers: expect(1, &add, OK),
        ..Module::default()
    }
}
