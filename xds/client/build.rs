// Compiles Envoy's API protos, as bundled in the envoy-types crate this workspace pins, into a
// descriptor set embedded in weir-xds: the reflection data that turns an Envoy config written
// in YAML/JSON (a bootstrap, `weir-cp apply -f`) into the same protos xDS carries.
//
// The protos are found next to envoy-types' sources in Cargo's registry (or in
// `WEIR_ENVOY_PROTO_DIR`, for vendored builds). Files protox cannot compile alone are left
// out and listed in `envoy_json::LEFT_OUT` (their types then do not parse: refused, never guessed).

// A build script stops the build with its reason: it may panic.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use prost::Message;

/// Must match the `envoy-types = "=…"` pin in the workspace `Cargo.toml`.
const ENVOY_TYPES: &str = "envoy-types-0.7.7";
const INCLUDES: [&str; 8] = [
    "data-plane-api",
    "xds",
    "protoc-gen-validate",
    "googleapis",
    "cel-spec",
    "opentelemetry-proto",
    "client_model",
    "ratelimit",
];

fn proto_dir() -> PathBuf {
    println!("cargo:rerun-if-env-changed=WEIR_ENVOY_PROTO_DIR");
    if let Ok(dir) = std::env::var("WEIR_ENVOY_PROTO_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cargo"));
    let registry = home.join("registry").join("src");
    for index in std::fs::read_dir(&registry).expect("Cargo registry sources").flatten() {
        let dir = index.path().join(ENVOY_TYPES).join("proto");
        if dir.is_dir() {
            return dir;
        }
    }
    panic!("{ENVOY_TYPES}/proto not found under {}: set WEIR_ENVOY_PROTO_DIR", registry.display());
}

fn protos(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("proto dir").flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
        if path.is_dir() {
            // Only v3: v2 and the alpha versions are not what Envoy 1.40 reads.
            if !(name.ends_with("/v2") || name.contains("alpha")) {
                protos(root, &path, out);
            }
        } else if name.ends_with(".proto") {
            out.push(name);
        }
    }
}

fn main() {
    let dir = proto_dir();
    let root = dir.join("data-plane-api");
    let mut files = Vec::new();
    protos(&root, &root.join("envoy"), &mut files);
    let includes: Vec<PathBuf> = INCLUDES.iter().map(|i| dir.join(i)).collect();
    let compiler = || {
        let mut c = protox::Compiler::new(&includes).expect("protox");
        c.include_imports(true);
        c
    };
    // One compiler for most files; protox resolves names against every file it has seen, so
    // a few only compile alone.
    let mut shared = compiler();
    let alone: Vec<&String> = files.iter().filter(|f| shared.open_file(f).is_err()).collect();
    let mut set = shared.file_descriptor_set();
    let mut have: HashSet<String> = set.file.iter().map(|f| f.name().to_string()).collect();
    let mut skipped = Vec::new();
    for file in alone {
        let mut c = compiler();
        match c.open_file(file) {
            Ok(_) => {
                for fd in c.file_descriptor_set().file {
                    if have.insert(fd.name().to_string()) {
                        set.file.push(fd);
                    }
                }
            }
            Err(e) => skipped.push(format!("{file}: {e}")),
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("envoy_descriptors.bin"), set.encode_to_vec()).expect("write descriptors");
    let list: String = skipped.iter().map(|s| format!("    {s:?},\n")).collect();
    std::fs::write(out.join("envoy_left_out.rs"), format!("&[\n{list}]\n")).expect("write list");
    println!("cargo:rerun-if-changed=build.rs");
}
