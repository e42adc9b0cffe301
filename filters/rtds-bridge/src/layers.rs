//! The runtime layers the bridge holds, merged and versioned exactly as weir publishes them:
//! the static layer (if configured) lowest, then the RTDS layers in configured order, later
//! layers overriding earlier ones key by key ([`weir_runtime::merge`]).
//!
//! Versions only grow. A new snapshot takes the next number after both the last one this VM
//! wrote and the one found in shared data, so a restarted bridge (or any other writer of the
//! same `vm_id`) never makes readers' caches see a number again with other values.

use weir_runtime::{Layer, Snapshot};

use crate::config::{Config, STATIC_LAYER};

/// The layers and what has been published from them.
#[derive(Debug, Clone)]
pub struct Layers {
    static_layer: Option<Layer>,
    rtds: Vec<(String, Layer)>,
    /// The values in shared data as far as this VM knows; `None` when it holds a snapshot this
    /// VM did not write (its content is unknown, so the next snapshot is written whatever it is).
    published: Option<Layer>,
    /// The last version written or seen.
    version: u64,
}

impl Layers {
    /// The configured layers, empty until the control plane fills them. `found` is the
    /// version already in shared data, if any.
    pub fn new(config: &Config, found: Option<u64>) -> Layers {
        Layers {
            static_layer: config.static_layer.clone(),
            rtds: config.layers.iter().map(|name| (name.clone(), Layer::new())).collect(),
            published: if found.is_some() { None } else { Some(Layer::new()) },
            version: found.unwrap_or(0),
        }
    }

    /// Replaces the values of the layers given (names not configured are ignored; the session
    /// refuses them before this). Layers not given keep their values.
    pub fn apply(&mut self, updates: Vec<(String, Layer)>) {
        for (name, values) in updates {
            if let Some(layer) = self.rtds.iter_mut().find(|(n, _)| *n == name) {
                layer.1 = values;
            }
        }
    }

    /// Layer names, lowest precedence first (as in the snapshot).
    pub fn names(&self) -> Vec<String> {
        let static_name = self.static_layer.as_ref().map(|_| STATIC_LAYER.to_string());
        static_name.into_iter().chain(self.rtds.iter().map(|(n, _)| n.clone())).collect()
    }

    /// Every layer merged.
    pub fn merged(&self) -> Layer {
        weir_runtime::merge(self.static_layer.iter().chain(self.rtds.iter().map(|(_, l)| l)))
    }

    /// The snapshot to write when the merged values differ from what is published, numbered
    /// after both the last version of this VM and `shared` (the version in shared data now).
    /// Nothing when they are the same. Call [`Layers::written`] once it is written.
    pub fn next_snapshot(&self, shared: Option<u64>) -> Option<Snapshot> {
        let merged = self.merged();
        if self.published.as_ref() == Some(&merged) {
            return None;
        }
        let version = self.version.max(shared.unwrap_or(0)).saturating_add(1);
        Some(Snapshot::new(version, self.names(), merged))
    }

    /// Records that `snapshot` is now in shared data.
    pub fn written(&mut self, snapshot: &Snapshot) {
        self.version = self.version.max(snapshot.version);
        self.published = Some(snapshot.values.clone());
    }

    /// The last version written or seen.
    pub fn version(&self) -> u64 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text.as_bytes()).unwrap()
    }

    fn layer(value: serde_json::Value) -> Layer {
        weir_runtime::flatten(&value).unwrap()
    }

    #[test]
    fn static_lowest_then_rtds_in_order() {
        let c = config(
            r#"{"cluster": "cp", "layers": ["base", "ops"], "static_layer": {"a": 1, "b": 1, "c": 1}}"#,
        );
        let mut layers = Layers::new(&c, None);
        assert_eq!(layers.names(), vec!["static", "base", "ops"]);
        // Static values alone are published as version 1.
        let first = layers.next_snapshot(None).unwrap();
        assert_eq!((first.version, first.values["a"].clone()), (1, json!(1)));
        layers.written(&first);
        assert!(layers.next_snapshot(Some(1)).is_none(), "nothing changed");
        // `ops` overrides `base` overrides static, whatever order they arrive in.
        layers.apply(vec![("ops".into(), layer(json!({"c": 3})))]);
        layers.apply(vec![
            ("base".into(), layer(json!({"b": 2, "c": 2}))),
            ("other".into(), layer(json!({"z": 1}))),
        ]);
        let s = layers.next_snapshot(Some(1)).unwrap();
        assert_eq!(s.version, 2);
        assert_eq!(s.values, layer(json!({"a": 1, "b": 2, "c": 3})));
        assert_eq!(s.layers, vec!["static", "base", "ops"]);
        layers.written(&s);
        // A layer that disappears from a later response is not touched; an emptied one is.
        layers.apply(vec![("ops".into(), Layer::new())]);
        assert_eq!(layers.next_snapshot(Some(2)).unwrap().values["c"], json!(2));
    }

    #[test]
    fn versions_continue_from_shared_data_and_never_repeat() {
        let c = config(r#"{"cluster": "cp"}"#);
        // Shared data already holds version 7 (an earlier bridge): its content is unknown, so
        // the first snapshot is written even if empty, as version 8.
        let mut layers = Layers::new(&c, Some(7));
        let s = layers.next_snapshot(Some(7)).unwrap();
        assert_eq!(s.version, 8);
        assert!(s.values.is_empty());
        layers.written(&s);
        assert!(layers.next_snapshot(Some(8)).is_none());
        // Another writer moved the version meanwhile: go past it.
        layers.apply(vec![("rtds".into(), layer(json!({"k": 1})))]);
        let s = layers.next_snapshot(Some(20)).unwrap();
        assert_eq!(s.version, 21);
        layers.written(&s);
        // A version that went backwards in shared data does not make ours go back.
        layers.apply(vec![("rtds".into(), layer(json!({"k": 2})))]);
        assert_eq!(layers.next_snapshot(Some(3)).unwrap().version, 22);
    }

    #[test]
    fn nothing_published_until_something_is_set() {
        let c = config(r#"{"cluster": "cp"}"#);
        let mut layers = Layers::new(&c, None);
        assert!(layers.next_snapshot(None).is_none(), "empty layers publish nothing, as weir");
        layers.apply(vec![("rtds".into(), Layer::new())]);
        assert!(layers.next_snapshot(None).is_none());
        layers.apply(vec![("rtds".into(), layer(json!({"x": true})))]);
        let s = layers.next_snapshot(None).unwrap();
        assert_eq!((s.version, s.layers.clone()), (1, vec!["rtds".to_string()]));
        layers.written(&s);
        assert_eq!(layers.version(), 1);
    }
}
