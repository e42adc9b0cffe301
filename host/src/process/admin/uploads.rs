//! Where modules uploaded through the admin API (`application/wasm` bodies) are kept: one
//! private directory per process under the temporary directory, created by weir with mode
//! 0700 and a random name on the first upload (creation fails if the name exists, so a
//! directory another user prepared is never used), removed when the admin server stops.
//! Files are named by their SHA-256 and written mode 0600.

use std::path::PathBuf;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::process::private_files::{create_private_dir, write_whole};

/// The upload directory (created on first use).
#[derive(Debug)]
pub struct UploadDir {
    parent: PathBuf,
    dir: Mutex<Option<PathBuf>>,
}

impl UploadDir {
    /// An upload directory to be created under `parent` (the temporary directory in weir).
    pub fn new(parent: PathBuf) -> UploadDir {
        UploadDir { parent, dir: Mutex::new(None) }
    }

    /// The directory, once created.
    #[cfg(test)]
    pub fn path(&self) -> Option<PathBuf> {
        self.dir.lock().clone()
    }

    /// Keeps `bytes` as `<sha256>.wasm` in the directory; returns its path.
    pub fn store(&self, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let dir = self.create()?;
        let path = dir.join(format!("{}.wasm", hex::encode(Sha256::digest(bytes))));
        if path.is_file() {
            return Ok(path);
        }
        write_whole(&dir, &path, bytes)?;
        Ok(path)
    }

    fn create(&self) -> std::io::Result<PathBuf> {
        let mut dir = self.dir.lock();
        if let Some(dir) = &*dir {
            return Ok(dir.clone());
        }
        let path = create_private_dir(&self.parent, "weir-uploads-")?;
        tracing::info!(dir = %path.display(), "created the private directory for uploaded modules");
        *dir = Some(path.clone());
        Ok(path)
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.lock().take() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn uploads_go_to_a_private_unpredictable_directory() {
        let parent = tempfile::tempdir().unwrap();
        let uploads = UploadDir::new(parent.path().to_path_buf());
        assert_eq!(uploads.path(), None, "created on first use only");
        let first = uploads.store(b"\0asm one").unwrap();
        let again = uploads.store(b"\0asm one").unwrap();
        assert_eq!(first, again);
        let dir = uploads.path().unwrap();
        assert!(first.starts_with(&dir));
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name.len(), "weir-uploads-".len() + 32, "{name}");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&first).unwrap().permissions().mode() & 0o777, 0o600);
        let other = UploadDir::new(parent.path().to_path_buf());
        other.store(b"x").unwrap();
        assert_ne!(other.path(), uploads.path(), "every process gets its own name");
        drop(uploads);
        assert!(!dir.exists(), "removed with the admin server");
    }
}
