//! Files weir keeps for itself (uploaded modules, the remote-module cache): private
//! directories (mode 0700, an unpredictable name, never one that already exists) and files
//! written whole (mode 0600, under a temporary name then renamed, so a reader never sees half
//! a file).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// 128 random bits from the OS, as hex.
pub fn random_name() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Creates `<parent>/<prefix><random name>` mode 0700. `create`, not `create_all`: an existing
/// directory (or symlink) at that name is an error.
pub fn create_private_dir(parent: &Path, prefix: &str) -> std::io::Result<PathBuf> {
    let path = parent.join(format!("{prefix}{}", random_name()?));
    std::fs::DirBuilder::new().mode(0o700).create(&path)?;
    Ok(path)
}

/// Writes `bytes` as `path` (in `dir`) whole: a temporary file of a name no other writer
/// uses (mode 0600), synced, then renamed over `path`.
pub fn write_whole(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = dir.join(format!(".{}.tmp", random_name()?));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
