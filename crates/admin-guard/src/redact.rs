//! How admin APIs show a secret: never its bytes, only what identifies it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// `{"redacted": true, "sha256": "<hex>", "bytes": <n>}` for a secret's bytes: enough to tell
/// whether two proxies run the same configuration, nothing to recover it from (a configuration
/// is long and varied enough that its hash cannot be guessed back).
pub fn redacted(bytes: &[u8]) -> Value {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    json!({"redacted": true, "sha256": hex, "bytes": bytes.len()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_size_and_hash_only() {
        let v = redacted(b"api-key: s3cret");
        assert_eq!(v["redacted"], true);
        assert_eq!(v["bytes"], 15);
        assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
        assert!(!v.to_string().contains("s3cret"));
    }
}
