//! A route's header changes compiled (see `config::route_headers`), applied in Envoy's order:
//! removals; then each addition's condition is decided on the headers as they are; then the
//! overwrites are made, then the appends, each in list order.

use bytes::Bytes;
use weir_http::HeaderMap;

use crate::config::{AppendAction, HeaderValueOption};

/// One direction's changes.
#[derive(Debug, Clone, Default)]
pub struct HeaderMutation {
    remove: Vec<String>,
    add: Vec<(String, Bytes, AppendAction)>,
}

impl HeaderMutation {
    /// From a route's (validated) lists.
    pub fn new(add: &[HeaderValueOption], remove: &[String]) -> Result<HeaderMutation, String> {
        let add = add
            .iter()
            .map(|o| {
                let value = crate::config::route_headers_literal(&o.header.value)?;
                Ok((o.header.key.clone(), Bytes::from(value), o.append_action))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let remove = remove.iter().map(|n| n.to_ascii_lowercase()).collect();
        Ok(HeaderMutation { remove, add })
    }

    /// Whether it changes anything.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty()
    }

    /// Applies the changes to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for name in &self.remove {
            headers.remove(name.as_bytes());
        }
        let mut overwrite = Vec::new();
        let mut append = Vec::new();
        for (name, value, action) in &self.add {
            let present = headers.get(name.as_bytes()).is_some();
            match (action, present) {
                (AppendAction::AppendIfExistsOrAdd, _) | (AppendAction::AddIfAbsent, false) => {
                    append.push((name, value))
                }
                (AppendAction::OverwriteIfExistsOrAdd, _) | (AppendAction::OverwriteIfExists, true) => {
                    overwrite.push((name, value));
                }
                (AppendAction::AddIfAbsent, true) | (AppendAction::OverwriteIfExists, false) => {}
            }
        }
        for (name, value) in overwrite {
            headers.set(name.clone(), value.clone());
        }
        for (name, value) in append {
            headers.add(name.clone(), value.clone());
        }
    }
}
