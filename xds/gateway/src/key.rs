//! A namespaced object's name.

use std::fmt;

use serde::Serialize;

/// `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Key {
    /// The namespace (`default` when the manifest names none).
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl Key {
    /// A key from its parts.
    pub fn new(namespace: &str, name: &str) -> Key {
        Key { namespace: namespace.to_string(), name: name.to_string() }
    }

    /// `namespace:name`: a part of Envoy resource names, which weir-cp refuses with a `/`
    /// (neither part can hold a `:`).
    pub fn id(&self) -> String {
        format!("{}:{}", self.namespace, self.name)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
