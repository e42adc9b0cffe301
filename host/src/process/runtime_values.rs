//! Runtime values (RTDS) as weir publishes them to filters: the merged snapshot written into
//! proxy-wasm shared data under the keys of the runtime-values contract
//! ([`weir_abi::runtime`]), in every `vm_id` the plugins use. See `docs/runtime-values.md`.

use parking_lot::Mutex;
use serde_json::Value;
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

    /// Changes one layer's values with `edit` (which may refuse, changing nothing); returns
    /// whether the merged snapshot changed.
    pub fn edit_layer(
        &self,
        name: &str,
        edit: impl FnOnce(&mut Layer) -> Result<(), String>,
    ) -> Result<bool, String> {
        let mut state = self.state.lock();
        let before = merge(&state.layers);
        let Some((_, layer)) = state.layers.iter_mut().find(|(n, _)| n == name) else {
            return Err(format!("no runtime layer `{name}`"));
        };
        let mut next = layer.clone();
        edit(&mut next)?;
        *layer = next;
        let changed = merge(&state.layers) != before;
        if changed {
            state.version += 1;
        }
        Ok(changed)
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

/// Most keys the admin layer holds (`POST /runtime_modify` past it is refused).
pub const MAX_ADMIN_KEYS: usize = 10_000;

/// Applies `POST /runtime_modify` changes to the admin layer: a value is taken as an integer,
/// a number or `true`/`false` when it reads as one (as Envoy's runtime parses its strings),
/// else as a string; an empty value removes the key. All or nothing.
pub fn admin_modify(layer: &mut Layer, changes: Vec<(String, String)>) -> Result<(), String> {
    for (key, value) in changes {
        if key.is_empty() {
            return Err("a runtime key must not be empty".into());
        }
        if value.is_empty() {
            layer.remove(&key);
            continue;
        }
        let parsed = match value.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => match value.parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => match value.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    Some(n) => Value::Number(n),
                    None => Value::String(value),
                },
            },
        };
        layer.insert(key, parsed);
    }
    if layer.len() > MAX_ADMIN_KEYS {
        return Err(format!("the admin layer holds at most {MAX_ADMIN_KEYS} keys"));
    }
    Ok(())
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
    fn the_admin_layer_takes_typed_values_removes_empty_ones_and_is_capped() {
        let rt = RuntimeValues::with_layers(&["static".into(), "admin".into()]);
        rt.set_layer("static", Layer::from([("a".into(), json!(1))]));
        let changes =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let set = [("a", "7"), ("b", "0.5"), ("c", "true"), ("d", "x y")];
        assert!(rt.edit_layer("admin", |l| admin_modify(l, changes(&set))).unwrap());
        let values = rt.snapshot().values;
        assert_eq!((values["a"].clone(), values["b"].clone()), (json!(7), json!(0.5)));
        assert_eq!((values["c"].clone(), values["d"].clone()), (json!(true), json!("x y")));
        // Removing the admin value uncovers the static one.
        rt.edit_layer("admin", |l| admin_modify(l, changes(&[("a", "")]))).unwrap();
        assert_eq!(rt.snapshot().values["a"], json!(1));
        // Past the cap: refused, nothing changed.
        let many: Vec<(String, String)> =
            (0..MAX_ADMIN_KEYS).map(|i| (format!("k{i}"), "1".to_string())).collect();
        let v = rt.snapshot().version;
        let e = rt.edit_layer("admin", |l| admin_modify(l, many)).unwrap_err();
        assert!(e.contains("at most 10000 keys"), "{e}");
        assert_eq!(rt.snapshot().version, v);
        assert!(rt.edit_layer("nope", |_| Ok(())).is_err());
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
