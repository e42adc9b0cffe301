//! Where a plugin's module may come from, and how it is read (`docs/security.md`, "Admin APIs").
//!
//! - Every module, from any source, must be a **regular file** of at most
//!   `module_sources.max_module_bytes`: `/dev/zero`, FIFOs, sockets and directories are refused
//!   from their metadata, and the file is then opened non-blocking (a FIFO swapped in after the
//!   check cannot hang the reload) and checked again on the open handle before a capped read.
//! - A path given by the admin API or by ECDS must also resolve, symlinks followed, to a file
//!   under one of the module directories ([`ModuleDirectories`]); the resolved path is what is
//!   kept, so a symlink pointing out of the directories never gets in.

use std::io::Read;
use std::path::{Path, PathBuf};

use weir_plugin_spec::PluginConfig;

/// Why a module file is refused.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file may not be used as a module.
    #[error("module {path}: {reason}")]
    Refused {
        /// The path as given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read module {path}: {source}")]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl SourceError {
    fn refused(path: &Path, reason: impl Into<String>) -> SourceError {
        SourceError::Refused { path: path.to_path_buf(), reason: reason.into() }
    }
}

/// What a file is, when it is not a regular file.
fn not_regular(metadata: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_file() {
        return None;
    }
    Some(if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    })
}

fn check(path: &Path, metadata: &std::fs::Metadata, max_bytes: u64) -> Result<(), SourceError> {
    if let Some(kind) = not_regular(metadata) {
        return Err(SourceError::refused(path, format!("is {kind}; a module must be a regular file")));
    }
    if metadata.len() > max_bytes {
        return Err(SourceError::refused(
            path,
            format!("is {} bytes, over module_sources.max_module_bytes ({max_bytes})", metadata.len()),
        ));
    }
    Ok(())
}

/// Reads a module: a regular file of at most `max_bytes`, never blocking on a FIFO.
pub fn read_module(path: &Path, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    check(path, &std::fs::metadata(path).map_err(io)?, max_bytes)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, rustix::fs::OFlags::NONBLOCK.bits() as i32);
    let file = options.open(path).map_err(io)?;
    // The file may have been replaced between the check and the open: check what was opened.
    check(path, &file.metadata().map_err(io)?, max_bytes)?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(SourceError::refused(
            path,
            format!("grew past module_sources.max_module_bytes ({max_bytes})"),
        ));
    }
    Ok(bytes)
}

/// The directories modules named by the admin API or ECDS must be under (symlinks resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleDirectories {
    dirs: Vec<PathBuf>,
}

impl ModuleDirectories {
    /// The configured `directories` (`module_sources.directories`), or by default the
    /// directories of the modules `plugins` name. Directories that do not exist are left out.
    pub fn of(directories: &[PathBuf], plugins: &[PluginConfig]) -> ModuleDirectories {
        let listed: Vec<PathBuf> = if directories.is_empty() {
            plugins.iter().filter_map(|p| p.wasm.parent().map(Path::to_path_buf)).collect()
        } else {
            directories.to_vec()
        };
        let mut dirs: Vec<PathBuf> = listed
            .iter()
            .filter_map(|d| {
                let dir = if d.as_os_str().is_empty() { Path::new(".") } else { d.as_path() };
                std::fs::canonicalize(dir).ok()
            })
            .filter(|d| d.is_dir())
            .collect();
        dirs.sort();
        dirs.dedup();
        ModuleDirectories { dirs }
    }

    /// The directories, resolved.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The resolved path of `path` if it is under a module directory; refused otherwise.
    pub fn admit(&self, path: &Path) -> Result<PathBuf, SourceError> {
        if self.dirs.is_empty() {
            return Err(SourceError::refused(
                path,
                "no module directory is configured (set module_sources.directories, or name a module \
                 in the config file); upload the module as the body (application/wasm) instead",
            ));
        }
        let resolved = std::fs::canonicalize(path)
            .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
        if self.dirs.iter().any(|d| resolved.starts_with(d)) {
            return Ok(resolved);
        }
        let shown = if resolved == path {
            String::new()
        } else {
            format!("resolves to {}, which ", resolved.display())
        };
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(SourceError::refused(
            path,
            format!(
                "{shown}is not under the module directories [{}] (module_sources.directories)",
                dirs.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
