//! Runtime values (RTDS) as weir publishes them to filters: the merged snapshot written into
//! proxy-wasm shared data under the keys of the runtime-values contract
//! ([`weir_abi::runtime`]), in every `vm_id` the plugins use. See `docs/runtime-values.md`.

use bytes::Bytes;
use parking_lot::Mutex;
use weir_runtime::{SNAPSHOT_KEY, VERSION_KEY};

use crate::services::ProcessServices;

pub use weir_runtime::{Layer, Snapshot};

/// Runtime layers, merged and published.
#[derive(Debug, Default)]
pub struct RuntimeValues {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    version: u64,
    layers: Vec<(String, Layer)>,
}

impl RuntimeValues {
    /// Declares the layer order (names, lowest precedence first); unknown layers are added at
    /// the end when first set.
    pub fn with_layers(names: &[String]) -> RuntimeValues {
        let layers = names.iter().map(|n| (n.clone(), Layer::new())).collect();
        RuntimeValues { state: Mutex::new(State { version: 0, layers }) }
    }

    /// Replaces one layer's values; returns whether the merged snapshot changed.
    pub fn set_layer(&self, name: &str, values: Layer) -> bool {
        let mut state = self.state.lock();
        let before = merge(&state.layers);
        match state.layers.iter_mut().find(|(n, _)| n == name) {
            Some(layer) => layer.1 = values,
            None => state.layers.push((name.to_string(), values)),
        }
        let changed = merge(&state.layers) != before;
        if changed {
            state.version += 1;
        }
        changed
    }

    /// The merged snapshot.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.state.lock();
        Snapshot::new(
            state.version,
            state.layers.iter().map(|(n, _)| n.clone()).collect(),
            merge(&state.layers),
        )
    }

    /// Writes the snapshot into the shared data of every `vm_id`.
    pub fn publish<'a>(&self, process: &ProcessServices, vm_ids: impl IntoIterator<Item = &'a str>) {
        publish(process, vm_ids, &self.snapshot());
    }
}

fn merge(layers: &[(String, Layer)]) -> Layer {
    weir_runtime::merge(layers.iter().map(|(_, layer)| layer))
}

/// Writes `snapshot` under the contract's keys into the shared data of every `vm_id`: the
/// snapshot first, then its version, so a reader that sees the new version finds the new values.
pub fn publish<'a>(
    process: &ProcessServices,
    vm_ids: impl IntoIterator<Item = &'a str>,
    snapshot: &Snapshot,
) {
    let bytes = Bytes::from(snapshot.to_bytes());
    let version = Bytes::from(snapshot.version.to_string());
    for vm_id in vm_ids {
        let data = &process.shared_data;
        if data.set(vm_id, SNAPSHOT_KEY.as_bytes(), bytes.clone(), 0).is_err()
            || data.set(vm_id, VERSION_KEY.as_bytes(), version.clone(), 0).is_err()
        {
            tracing::error!(vm_id, "cannot publish runtime values");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_layers_win_and_versions_move_only_on_change() {
        let rt = RuntimeValues::with_layers(&["base".into(), "override".into()]);
        assert!(rt.set_layer("override", Layer::from([("a".into(), json!(2))])));
        assert!(rt.set_layer("base", Layer::from([("a".into(), json!(1)), ("b".into(), json!("x"))])));
        let s = rt.snapshot();
        assert_eq!(s.values["a"], json!(2));
        assert_eq!(s.values["b"], json!("x"));
        assert_eq!(s.layers, ["base", "override"]);
        let v = s.version;
        // Changing a value that an upper layer hides changes nothing visible.
        assert!(!rt.set_layer("base", Layer::from([("a".into(), json!(5)), ("b".into(), json!("x"))])));
        assert_eq!(rt.snapshot().version, v);

        let process = ProcessServices::default();
        rt.publish(&process, ["vm", ""]);
        let (version, _) = process.shared_data.get("vm", VERSION_KEY.as_bytes()).unwrap();
        assert_eq!(version, v.to_string());
        let (snapshot, _) = process.shared_data.get("", SNAPSHOT_KEY.as_bytes()).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&snapshot).unwrap();
        assert_eq!(parsed["format"], 1);
        assert_eq!(parsed["values"]["a"], 2);
    }
}
