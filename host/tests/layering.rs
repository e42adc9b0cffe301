//! The layering of `docs/architecture.md`, checked where a crate boundary cannot enforce it:
//! inside weir-host, a module may use only modules of its own layer or below; and between the
//! workspace's crates, a crate may depend only on the crates its layer allows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// weir-host's top-level modules, bottom layer first.
const HOST_LAYERS: &[&[&str]] = &[
    &["config", "stats", "access_log", "logging", "trace"],
    &["upstream"],
    &["router"],
    &["http"],
    &["process"],
];

/// Each crate and the workspace crates it may depend on (normal dependencies).
const CRATE_RULES: &[(&str, &[&str])] = &[
    ("crates/abi", &[]),
    ("crates/runtime", &["weir-abi"]),
    ("crates/path", &[]),
    ("crates/plugin-spec", &[]),
    ("crates/admin-guard", &[]),
    ("crates/http", &["weir-abi"]),
    ("crates/tls", &["weir-http", "weir-plugin-spec"]),
    ("xds/client", &["weir-runtime"]),
    ("crates/proxy-wasm", &["weir-abi", "weir-http", "weir-plugin-spec", "weir-runtime", "weir-xds"]),
    (
        "host",
        &[
            "weir-abi",
            "weir-runtime",
            "weir-path",
            "weir-http",
            "weir-plugin-spec",
            "weir-proxy-wasm",
            "weir-xds",
            "weir-admin-guard",
            "weir-tls",
        ],
    ),
    // Pure translation: manifests in, Envoy resources as JSON out.
    ("xds/gateway", &[]),
    (
        "xds/cp",
        &[
            "weir-xds",
            "weir-runtime",
            "weir-admin-guard",
            "weir-plugin-spec",
            "weir-tls",
            "weir-http",
            "weir-gateway",
        ],
    ),
    ("crates/testing", &["weir-host", "weir-http", "weir-admin-guard"]),
    // Light, so `cargo xtask` builds it in seconds: no weir-host.
    ("tests/kit", &["weir-plugin-spec"]),
    ("sdk", &["weir-abi", "weir-runtime", "weir-path"]),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn layer_of(module: &str) -> Option<usize> {
    HOST_LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules a file names as `crate::<module>`, outside comments.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            found.push((n + 1, name));
            rest = tail;
        }
    }
    found
}

#[test]
fn host_modules_use_only_their_layer_and_below() {
    let src = root().join("host/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let top = top.trim_end_matches(".rs");
        let Some(own) = layer_of(top) else { continue };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, module) in uses(&text) {
            if let Some(used) = layer_of(&module)
                && used > own
            {
                violations.push(format!("host/src/{}:{line}: `{top}` uses `{module}`", relative.display()));
            }
        }
    }
    assert!(violations.is_empty(), "imports that run up the layers:\n{}", violations.join("\n"));
}

/// The `weir-*` crates a manifest lists under `[dependencies]`.
fn workspace_dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut found = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && line.starts_with("weir-") {
            let name: String = line.chars().take_while(|c| *c != '.' && *c != ' ' && *c != '=').collect();
            found.push(name);
        }
    }
    found
}

#[test]
fn crates_depend_only_on_the_layers_below() {
    let mut violations = Vec::new();
    for (dir, allowed) in CRATE_RULES {
        let manifest = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).unwrap();
        for dep in workspace_dependencies(&manifest) {
            if !allowed.contains(&dep.as_str()) {
                violations.push(format!("{dir}/Cargo.toml depends on {dep}"));
            }
        }
        // The proxy-wasm core and the vocabulary never see the request driver's HTTP server.
        if matches!(*dir, "crates/proxy-wasm" | "crates/http" | "crates/plugin-spec" | "crates/runtime")
            && manifest.lines().any(|l| l.trim_start().starts_with("hyper-util"))
        {
            violations.push(format!("{dir}/Cargo.toml depends on hyper-util (the driver's server side)"));
        }
    }
    assert!(violations.is_empty(), "dependencies that run up the layers:\n{}", violations.join("\n"));
}

#[test]
fn the_checks_see_what_they_check() {
    // A file that used a higher layer would be found (guards against a parser that finds nothing).
    let found =
        uses("use crate::process::Generation; // crate::http in a comment\nlet x = crate::router::Route;");
    assert_eq!(found, [(1, "process".to_string()), (2, "router".to_string())]);
    assert!(layer_of("process") > layer_of("config"));
    let deps = workspace_dependencies(
        "[dependencies]\nweir-abi.workspace = true\nserde = \"1\"\n[dev-dependencies]\nweir-host.workspace = true\n",
    );
    assert_eq!(deps, ["weir-abi"]);
}
