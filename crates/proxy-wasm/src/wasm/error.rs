//! Errors of the Wasm layer.

/// A module or plugin that could not be loaded. Loading never changes what is running.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The engine or linker could not be built.
    #[error("wasm engine: {0}")]
    Engine(String),
    /// The module file could not be read.
    #[error("cannot read module {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The module read does not have the SHA-256 its plugin asks for (`remote.sha256`).
    #[error("module {path}: sha256 is {got}, not the {want} asked for; not used")]
    Digest {
        /// The file.
        path: String,
        /// The digest asked for.
        want: String,
        /// The digest read.
        got: String,
    },
    /// The bytes are not a valid Wasm module.
    #[error("module `{module}` does not compile: {reason}")]
    Compile {
        /// Module name.
        module: String,
        /// The compiler's message.
        reason: String,
    },
    /// The module imports something the host does not provide, or exports a callback with the
    /// wrong signature.
    #[error("module `{module}` does not link: {reason}")]
    Link {
        /// Module name.
        module: String,
        /// Which import or export, and why.
        reason: String,
    },
    /// The module exports no proxy-wasm ABI version marker.
    #[error(
        "module `{module}` is not a proxy-wasm module: it exports none of \
         proxy_abi_version_0_2_1, proxy_abi_version_0_2_0, proxy_abi_version_0_1_0"
    )]
    NotProxyWasm {
        /// Module name.
        module: String,
    },
    /// Instantiating or starting the VM failed (trap in `_initialize`, `proxy_on_vm_start`
    /// returned false, ...).
    #[error("plugin `{plugin}`: {reason}")]
    Start {
        /// Plugin name.
        plugin: String,
        /// What failed.
        reason: String,
    },
}

/// A failure while running a callback. After any of these the VM is marked failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VmError {
    /// The guest trapped (panic, unreachable, out-of-bounds access, stack overflow, ...).
    #[error("{0}")]
    Trap(String),
    /// A callback ran past the plugin's `max_callback_time`.
    #[error("callback exceeded its time limit of {0:?}")]
    Timeout(std::time::Duration),
    /// The guest trapped after hitting a resource limit (`max_memory_bytes`: its allocator
    /// failed; `max_stack_bytes`: stack overflow).
    #[error("{limit} exceeded: {detail}")]
    Limit {
        /// The limit (its config field name).
        limit: &'static str,
        /// The trap and backtrace.
        detail: String,
    },
    /// The guest called WASI `proc_exit`.
    #[error("module called proc_exit({0})")]
    Exit(i32),
    /// The VM had already failed; it runs nothing until replaced.
    #[error("VM has failed earlier: {0}")]
    Failed(String),
    /// The VM is already running a callback (re-entrant call).
    #[error("VM is busy in another callback")]
    Busy,
}

impl VmError {
    /// A failure that just happened (not a VM that had failed before, nor a re-entrant call).
    pub fn is_new_failure(&self) -> bool {
        matches!(self, VmError::Trap(_) | VmError::Timeout(_) | VmError::Exit(_) | VmError::Limit { .. })
    }
}

/// A `proc_exit` request, carried through wasmtime as the hostcall's error.
#[derive(Debug)]
pub(crate) struct ProcExit(pub i32);

impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}
