//! The state file: JSON, written atomically (a temporary file in the same directory, synced, then
//! renamed over the old one, then the directory synced so the rename survives a crash) after
//! every change, read once at start. It holds ECDS configurations (API keys, passwords) and SDS
//! secrets (TLS private keys, in clear), so it is created mode 0600, whatever the umask.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::StartError;
use super::state::{FORMAT, State};

/// Reads the state file. A missing file is `None` (start empty); an unreadable or corrupt one is
/// an error, never silently replaced.
pub fn load(path: &Path) -> Result<Option<State>, StartError> {
    let bad = |reason: String| StartError::StateFile { path: path.to_path_buf(), reason };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(format!("cannot read it: {e}"))),
    };
    let state: State =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a weir-cp state file: {e}")))?;
    if state.format != FORMAT {
        return Err(bad(format!(
            "format {} is not supported (this weir-cp reads format {FORMAT})",
            state.format
        )));
    }
    for (name, entry) in &state.runtime.resources {
        if !entry.value.is_object() {
            return Err(bad(format!("runtime layer `{name}` is not an object")));
        }
    }
    let newest = |versions: &mut dyn Iterator<Item = u64>| versions.max().unwrap_or(0);
    if newest(&mut state.runtime.resources.values().map(|e| e.version)) > state.runtime.version
        || newest(&mut state.ecds.resources.values().map(|e| e.version)) > state.ecds.version
        || newest(&mut state.secrets.resources.values().map(|e| e.version)) > state.secrets.version
    {
        return Err(bad("a resource is newer than its type's version".into()));
    }
    Ok(Some(state))
}

/// Writes the state file atomically, mode 0600.
pub fn save(path: &Path, state: &State) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    let temp = temp_path(path);
    let written = (|| {
        // A temporary file left by a crash may have other permissions: start afresh.
        match std::fs::remove_file(&temp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = private_file(&temp)?;
        file.write_all(&text)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        sync_dir(path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Creates `path` (it must not exist) readable and writable by its owner only.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Syncs the directory holding `path`, so a rename into it is durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `dir/.name.tmp` beside the state file, so the rename stays on one file system.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "state".into());
    path.with_file_name(format!(".{name}.tmp"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn save_then_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        assert_eq!(load(&path).unwrap(), None);
        let mut state = State::default();
        state.runtime.put("rtds", json!({"a": 1}));
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), Some(state));
        assert!(!temp_path(&path).exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_state_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        // A stale world-readable temporary file (and an old world-readable state file) do not
        // leak into the new one.
        std::fs::write(temp_path(&path), "old").unwrap();
        std::fs::set_permissions(temp_path(&path), std::fs::Permissions::from_mode(0o666)).unwrap();
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &State::default()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        for text in [
            "{not json",
            r#"{"format": 99, "runtime": {"version": 0, "resources": {}}, "ecds": {"version": 0, "resources": {}}}"#,
            r#"{"format": 1, "runtime": {"version": 0, "resources": {"l": {"version": 1, "value": {}}}},
                "ecds": {"version": 0, "resources": {}}}"#,
            r#"{"format": 1, "runtime": {"version": 1, "resources": {"l": {"version": 1, "value": [1]}}},
                "ecds": {"version": 0, "resources": {}}}"#,
        ] {
            std::fs::write(&path, text).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains("cp.json") && err.contains("unusable"), "{err}");
        }
    }
}
