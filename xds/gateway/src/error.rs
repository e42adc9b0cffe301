//! Why a set of manifests is refused (nothing of it is applied).

/// A manifest that is not valid: the document (1-based), what it is, the field and why. As a
/// Kubernetes API server refuses an object its CRD's schema does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {document}{what}: {path}{sep}{reason}", sep = if path.is_empty() { "" } else { ": " })]
pub struct ManifestError {
    /// Which document of the input, from 1.
    pub document: usize,
    /// ` (HTTPRoute default/web)` when known, else empty.
    pub what: String,
    /// The field (`spec.rules[0].matches[1].path.type`), empty for the whole document.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl ManifestError {
    /// An error about document `document`.
    pub(crate) fn new(
        document: usize,
        what: &str,
        path: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ManifestError { document, what: what.to_string(), path: path.into(), reason: reason.into() }
    }
}
