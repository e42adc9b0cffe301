//! The state file: JSON, written atomically (a temporary file in the same directory, synced, then
//! renamed over the old one) after every change, read once at start.

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
    {
        return Err(bad("a resource is newer than its type's version".into()));
    }
    Ok(Some(state))
}

/// Writes the state file atomically.
pub fn save(path: &Path, state: &State) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    let temp = temp_path(path);
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&text)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
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
