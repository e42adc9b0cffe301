//! Runtime values (RTDS) as weir publishes them to filters: the merged snapshot written into
//! proxy-wasm shared data under the keys of the runtime-values contract
//! ([`weir_abi::runtime`]), in every `vm_id` the plugins use. See `docs/runtime-values.md`.

use parking_lot::Mutex;
use weir_runtime::protocol;

use weir_proxy_wasm::services::SharedData;
use weir_proxy_wasm::services::shared_data::VmShared;

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

    /// Sets the layer order from the config: `Some(values)` for a layer given in the config
    /// (a static layer), `None` for one filled later (RTDS), which keeps what it held. Layers
    /// no longer named are dropped. Returns whether the merged snapshot changed.
    pub fn configure(&self, layers: Vec<(String, Option<Layer>)>) -> bool {
        let mut state = self.state.lock();
        let before = merge(&state.layers);
        let mut previous = std::mem::take(&mut state.layers);
        state.layers = layers
            .into_iter()
            .map(|(name, values)| {
                let values = values.unwrap_or_else(|| {
                    previous
                        .iter_mut()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| std::mem::take(v))
                        .unwrap_or_default()
                });
                (name, values)
            })
            .collect();
        let changed = merge(&state.layers) != before;
        if changed {
            state.version += 1;
        }
        changed
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

    /// Publishes the merged snapshot ([`weir_runtime::protocol::publish`]) into the shared
    /// data of every `vm_id`, unless nothing was ever set (filters then see no snapshot and
    /// use their configuration).
    pub fn publish<'a>(&self, shared_data: &SharedData, vm_ids: impl IntoIterator<Item = &'a str>) {
        let snapshot = self.snapshot();
        if snapshot.version == 0 {
            return;
        }
        for vm_id in vm_ids {
            let store = VmShared { data: shared_data, vm_id };
            if let Err(status) = protocol::publish(&store, &snapshot) {
                tracing::error!(vm_id, ?status, "cannot publish runtime values");
            }
        }
    }

    /// Every layer with its own values (for the admin `/runtime`).
    pub fn layers(&self) -> Vec<(String, Layer)> {
        self.state.lock().layers.clone()
    }
}

fn merge(layers: &[(String, Layer)]) -> Layer {
    weir_runtime::merge(layers.iter().map(|(_, layer)| layer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use weir_runtime::{SNAPSHOT_KEY, VERSION_KEY};

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

        let shared_data = SharedData::default();
        rt.publish(&shared_data, ["vm", ""]);
        let (version, _) = shared_data.get("vm", VERSION_KEY.as_bytes()).unwrap();
        assert_eq!(version, v.to_string());
        let (snapshot, _) = shared_data.get("", SNAPSHOT_KEY.as_bytes()).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&snapshot).unwrap();
        assert_eq!(parsed["format"], 1);
        assert_eq!(parsed["values"]["a"], 2);
    }

    #[test]
    fn configure_keeps_dynamic_layers_and_replaces_static_ones() {
        let rt = RuntimeValues::default();
        assert!(rt.configure(vec![
            ("static".into(), Some(Layer::from([("a".into(), json!(1))]))),
            ("rtds".into(), None)
        ]));
        assert!(rt.set_layer("rtds", Layer::from([("b".into(), json!(2))])));
        let v = rt.snapshot().version;
        // Same static values, RTDS layer kept: nothing changes.
        assert!(!rt.configure(vec![
            ("static".into(), Some(Layer::from([("a".into(), json!(1))]))),
            ("rtds".into(), None)
        ]));
        assert_eq!(rt.snapshot().version, v);
        // Static layer moved above RTDS and overriding it.
        assert!(rt.configure(vec![
            ("rtds".into(), None),
            ("static".into(), Some(Layer::from([("b".into(), json!(3))])))
        ]));
        assert_eq!(rt.snapshot().values["b"], json!(3));
        assert_eq!(rt.snapshot().layers, ["rtds", "static"]);
    }
}
