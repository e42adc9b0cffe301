//! Fetched modules on disk, named by their SHA-256 (`<sha256>.wasm`): a file is used only if
//! its content has that digest (one that does not is removed and fetched again), the total is
//! kept under `module_sources.max_cache_bytes` by removing the least recently used files, and
//! files are written mode 0600 under a temporary name then renamed, so a reader never sees
//! half a module.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::process::private_files::{create_private_dir, write_whole};

/// The cache in `dir`.
#[derive(Debug)]
pub struct CacheDir {
    dir: PathBuf,
}

impl CacheDir {
    /// The cache in `dir`, created (mode 0700) if missing.
    pub fn open(dir: &Path) -> std::io::Result<CacheDir> {
        if !dir.is_dir() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        Ok(CacheDir { dir: dir.to_path_buf() })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.wasm"))
    }

    /// The cached module with `digest` (lower-case hex), if there is one whose content has it;
    /// marked as just used.
    pub fn lookup(&self, digest: &str, max_bytes: u64) -> Option<PathBuf> {
        let path = self.path(digest);
        let bytes = weir_proxy_wasm::plugin::source::read_module(&path, max_bytes).ok()?;
        if hex::encode(Sha256::digest(&bytes)) != digest {
            tracing::warn!(path = %path.display(), "a cached module does not match its digest: removed, fetched again");
            let _ = std::fs::remove_file(&path);
            return None;
        }
        if let Ok(file) = std::fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(path)
    }

    /// Keeps `bytes` (whose digest is `digest`), then trims the cache to `max_total` bytes,
    /// never removing this one; returns its path.
    pub fn store(&self, digest: &str, bytes: &[u8], max_total: u64) -> std::io::Result<PathBuf> {
        let path = self.path(digest);
        // Two weirs sharing the directory may store the same module at once: unique temp names.
        write_whole(&self.dir, &path, bytes)?;
        self.trim(&path, max_total);
        Ok(path)
    }

    /// Removes the least recently used modules until the cache holds at most `max_total`
    /// bytes; `keep` stays whatever its size.
    fn trim(&self, keep: &Path, max_total: u64) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= max_total {
                break;
            }
            if path != keep && std::fs::remove_file(&path).is_ok() {
                tracing::info!(path = %path.display(), "module cache over max_cache_bytes: removed the least recently used");
                total = total.saturating_sub(len);
            }
        }
    }
}

/// The default cache: `weir-modules-<128 random bits>` under the temporary directory, created
/// mode 0700 (never an existing one), removed when weir stops.
#[derive(Debug)]
pub(super) struct PrivateDir(pub(super) PathBuf);

impl PrivateDir {
    pub(super) fn create(parent: &Path) -> std::io::Result<PrivateDir> {
        Ok(PrivateDir(create_private_dir(parent, "weir-modules-")?))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn a_module_is_found_only_with_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::open(&dir.path().join("sub")).unwrap();
        let d = digest(b"\0asm one");
        assert_eq!(cache.lookup(&d, 1024), None);
        let path = cache.store(&d, b"\0asm one", 1024).unwrap();
        assert_eq!(cache.lookup(&d, 1024), Some(path.clone()));
        // Tampered: removed, not used.
        std::fs::write(&path, b"\0asm evil").unwrap();
        assert_eq!(cache.lookup(&d, 1024), None);
        assert!(!path.exists());
    }

    #[test]
    fn the_least_recently_used_go_first_and_never_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::open(dir.path()).unwrap();
        let (a, b, c) = (vec![1u8; 100], vec![2u8; 100], vec![3u8; 100]);
        let pa = cache.store(&digest(&a), &a, 1000).unwrap();
        let pb = cache.store(&digest(&b), &b, 1000).unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options().append(true).open(&pb).unwrap().set_modified(old).unwrap();
        // 300 bytes over a 250-byte cap: b (least recently used) goes, a and c stay.
        let pc = cache.store(&digest(&c), &c, 250).unwrap();
        assert!(pa.exists() && pc.exists() && !pb.exists());
        // A module alone over the cap is still kept.
        let big = vec![4u8; 500];
        let pbig = cache.store(&digest(&big), &big, 250).unwrap();
        assert!(pbig.exists() && !pa.exists() && !pc.exists());
    }
}
