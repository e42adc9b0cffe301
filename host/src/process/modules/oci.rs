//! Modules pulled from an OCI registry (`oci://registry[:port]/repository[:tag][@sha256:…]`),
//! as the Wasm OCI artifact layout Istio and Envoy Gateway read: the manifest's layer of media
//! type `application/vnd.module.wasm.content.layer.v1+wasm` (or `application/wasm`) is the
//! module. The registry API (distribution v2): `GET /v2/<repository>/manifests/<reference>`,
//! then `GET /v2/<repository>/blobs/<digest>`; a manifest named by digest and the blob are
//! checked against their digests. An image whose only layer is a `tar+gzip` archive (Istio's
//! Wasm images) gives its `plugin.wasm` ([`super::layer`]). Registries that require a login
//! are not supported yet.

use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::fetch::{self, FetchError, Fetcher};

/// Largest manifest read.
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// Manifest types asked for.
const MANIFESTS: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Layer media types that hold the module itself.
pub const WASM_LAYERS: [&str; 2] = ["application/vnd.module.wasm.content.layer.v1+wasm", "application/wasm"];

/// Layer media types of an image whose only layer is a `tar+gzip` archive holding
/// `plugin.wasm` (Istio's Wasm images).
pub const ARCHIVE_LAYERS: [&str; 2] =
    ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"];

/// An `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// `host[:port]`.
    pub registry: String,
    /// `path/to/repository`.
    pub repository: String,
    /// A tag, or `sha256:<hex>`.
    pub reference: String,
}

impl OciRef {
    /// Parses `oci://registry/repository[:tag][@sha256:hex]` (no tag: `latest`; a digest wins
    /// over a tag).
    pub fn parse(url: &str) -> Result<OciRef, String> {
        let rest = url.strip_prefix("oci://").ok_or_else(|| format!("{url:?}: not oci://"))?;
        let (registry, path) = rest.split_once('/').ok_or_else(|| format!("{url:?}: no repository"))?;
        let (path, digest) = match path.split_once('@') {
            Some((p, d)) => (p, Some(d)),
            None => (path, None),
        };
        // A tag follows the last `:` after the last `/`.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
            _ => (path, None),
        };
        // The distribution spec's path components: `[a-z0-9]+([._-][a-z0-9]+)*` (so no `.` or `..`).
        let component = |part: &str| {
            let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            let bytes = part.as_bytes();
            bytes.first().is_some_and(|b| alnum(*b))
                && bytes.last().is_some_and(|b| alnum(*b))
                && bytes.iter().all(|b| alnum(*b) || b"._-".contains(b))
                && !bytes.windows(2).any(|w| !alnum(w[0]) && !alnum(w[1]))
        };
        let valid_repo = !repository.is_empty() && repository.split('/').all(component);
        if registry.is_empty() || !valid_repo {
            return Err(format!("{url:?}: expected oci://registry/repository[:tag][@sha256:digest]"));
        }
        let reference = match (digest, tag) {
            (Some(d), _) => {
                let hex = d.strip_prefix("sha256:").unwrap_or_default();
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("{url:?}: a digest is sha256: and 64 hex digits"));
                }
                d.to_ascii_lowercase()
            }
            (None, Some(t)) if !t.is_empty() && t.len() <= 128 => t.to_string(),
            (None, Some(_)) => return Err(format!("{url:?}: a tag has 1 to 128 characters")),
            (None, None) => "latest".to_string(),
        };
        Ok(OciRef { registry: registry.to_string(), repository: repository.to_string(), reference })
    }
}

/// Pulls the module of `image` over `scheme` (`https`, or `http` for an insecure registry).
pub async fn pull(
    image: &OciRef,
    scheme: &str,
    max_bytes: u64,
    fetcher: Fetcher<'_>,
) -> Result<Bytes, FetchError> {
    let base = format!("{scheme}://{}/v2/{}", image.registry, image.repository);
    let manifest =
        fetch::get(&format!("{base}/manifests/{}", image.reference), MANIFESTS, MAX_MANIFEST_BYTES, fetcher)
            .await?;
    if let Some(want) = image.reference.strip_prefix("sha256:") {
        let got = hex::encode(Sha256::digest(&manifest));
        if got != want {
            return Err(FetchError::Registry(format!(
                "the manifest has sha256 {got}, not the {want} its reference names"
            )));
        }
    }
    let (digest, size, archived) = wasm_layer(&manifest)?;
    if size > max_bytes {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let blob = fetch::get(&format!("{base}/blobs/{digest}"), "*/*", max_bytes, fetcher).await?;
    let got = format!("sha256:{}", hex::encode(Sha256::digest(&blob)));
    if got != digest {
        return Err(FetchError::Registry(format!(
            "the layer blob has {got}, not the {digest} its manifest names"
        )));
    }
    if archived {
        return super::layer::module(&blob, max_bytes).map(Bytes::from);
    }
    Ok(blob)
}

/// The module layer's digest and size, and whether it is a `tar+gzip` archive holding
/// `plugin.wasm` (an image's only layer) rather than the module itself.
fn wasm_layer(manifest: &[u8]) -> Result<(String, u64, bool), FetchError> {
    let doc: Value = serde_json::from_slice(manifest)
        .map_err(|e| FetchError::Registry(format!("the manifest is not JSON: {e}")))?;
    let Some(layers) = doc["layers"].as_array() else {
        let kind = doc["mediaType"].as_str().unwrap_or("unknown");
        return Err(FetchError::Registry(format!(
            "not an image manifest ({kind}); name a manifest, not an index"
        )));
    };
    let kind = |l: &Value| l["mediaType"].as_str().unwrap_or_default().to_string();
    let wasm = layers.iter().find(|l| WASM_LAYERS.contains(&kind(l).as_str())).map(|l| (l, false));
    let image = match layers.as_slice() {
        [only] if ARCHIVE_LAYERS.contains(&kind(only).as_str()) => Some((only, true)),
        _ => None,
    };
    let Some((layer, archived)) = wasm.or(image) else {
        let kinds: Vec<&str> = layers.iter().filter_map(|l| l["mediaType"].as_str()).collect();
        return Err(FetchError::Registry(format!(
            "no Wasm layer ({}, or one {} layer) in the manifest; its layers are {kinds:?}",
            WASM_LAYERS.join(" or "),
            ARCHIVE_LAYERS.join(" or ")
        )));
    };
    let digest = layer["digest"].as_str().unwrap_or_default();
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FetchError::Registry(format!(
            "the Wasm layer's digest {digest:?} is not sha256:<64 hex>"
        )));
    }
    Ok((digest.to_ascii_lowercase(), layer["size"].as_u64().unwrap_or(0), archived))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_registries_write_them() {
        let r = OciRef::parse("oci://127.0.0.1:5000/team/auth:1.2").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "team/auth", "1.2")
        );
        assert_eq!(OciRef::parse("oci://ghcr.io/a/b").unwrap().reference, "latest");
        let digest = format!("sha256:{}", "A".repeat(64));
        let pinned = OciRef::parse(&format!("oci://r.example/a:1@{digest}")).unwrap();
        assert_eq!((pinned.repository.as_str(), pinned.reference), ("a", digest.to_ascii_lowercase()));
        for bad in [
            "oci://r.example",
            "oci:///a",
            "oci://r/UPPER",
            "oci://r/a@sha256:12",
            "oci://r/a:",
            "oci://r/team/../other",
            "oci://r/a/./b",
            "oci://r/-a",
            "https://r/a",
        ] {
            assert!(OciRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_wasm_layer_is_found_or_the_layers_named() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let ok = serde_json::json!({"layers": [
            {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "x", "size": 2},
            {"mediaType": WASM_LAYERS[0], "digest": digest, "size": 10}
        ]});
        assert_eq!(wasm_layer(ok.to_string().as_bytes()).unwrap(), (digest.clone(), 10, false));
        let image =
            serde_json::json!({"layers": [{"mediaType": ARCHIVE_LAYERS[0], "digest": digest, "size": 7}]});
        assert_eq!(wasm_layer(image.to_string().as_bytes()).unwrap(), (digest.clone(), 7, true));
        // An image of several layers: which holds the module is not said.
        let layered = serde_json::json!({"layers": [
            {"mediaType": ARCHIVE_LAYERS[0], "digest": digest}, {"mediaType": ARCHIVE_LAYERS[0], "digest": digest}
        ]});
        assert!(
            wasm_layer(layered.to_string().as_bytes()).unwrap_err().to_string().contains("its layers are")
        );
        let index =
            serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []});
        assert!(
            wasm_layer(index.to_string().as_bytes())
                .unwrap_err()
                .to_string()
                .contains("not an image manifest")
        );
    }
}
