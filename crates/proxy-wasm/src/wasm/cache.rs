//! Compiled modules kept on disk (`weir --module-cache DIR`), so a restart or a reload of an
//! unchanged module skips Cranelift. Entries are keyed by the module's SHA-256 and the engine's
//! compatibility hash (wasmtime version and settings); wasmtime checks both again on load, and
//! an entry it refuses is compiled afresh and replaced.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

/// Where the entry for `sha256` compiled by `engine` lives.
pub(super) fn entry(dir: &Path, engine: &Engine, sha256: &str) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
}

/// The cached module, if there is a usable one.
#[allow(unsafe_code)]
pub(super) fn load(engine: &Engine, path: &Path) -> Option<Module> {
    // Read into memory rather than mapped: a file changed under a mapping would crash weir.
    let bytes = std::fs::read(path).ok()?;
    // SAFETY: the bytes are a file weir wrote with `Module::serialize` into the cache directory
    // the operator configured (trusted, like the `.wasm` files themselves); wasmtime verifies
    // the header and engine compatibility and refuses anything else.
    match unsafe { Module::deserialize(engine, &bytes) } {
        Ok(module) => Some(module),
        Err(e) => {
            tracing::warn!(path = %path.display(), "ignoring a module cache entry: {e:#}");
            None
        }
    }
}

/// Writes `module` to the cache (atomically: a temporary file renamed into place). Failures
/// are logged; the cache is an optimisation.
pub(super) fn store(path: &Path, module: &Module) {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let bytes = module.serialize().map_err(std::io::Error::other)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::warn!(path = %path.display(), "cannot write the module cache: {e}");
    }
}
