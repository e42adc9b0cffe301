//! Shared-data keys. One per fixed bucket (the default bucket, and the bucket of each
//! descriptor a pattern names with every value given), and a bounded table of slots per
//! value-less pattern ([`crate::table`]):
//!
//! ```text
//! weir.ratelimit/<scope>/<max_tokens>.<tokens_per_fill>.<fill_interval_ns>/default
//! weir.ratelimit/<scope>/<max_tokens>.<tokens_per_fill>.<fill_interval_ns>/d:<key>=<value>,<key>=<value>
//! weir.ratelimit/<scope>/<max_tokens>.<tokens_per_fill>.<fill_interval_ns>/h:<sha256 of the d: form, 32 hex>
//! weir.ratelimit/<scope>/<max_tokens>.<tokens_per_fill>.<fill_interval_ns>/t<slots>:<pattern>/<slot>
//! ```
//!
//! The bucket's parameters are part of the key, so a configuration that changes a limit starts
//! from fresh buckets instead of reading state written under other parameters. Scope, keys and
//! values are percent-escaped (`%`, `/`, `,`, `=`, and bytes outside printable ASCII); a
//! descriptor part longer than [`MAX_DESCRIPTOR_LEN`] is replaced by its hash.
//!
//! A table's `<pattern>` lists the pattern's entries in order: `key` for an entry without a
//! value, `key=value` for one with (escaped the same way; `h:<hash>` when longer than
//! [`MAX_DESCRIPTOR_LEN`]). Its `<slots>` is `max_dynamic_descriptors`, and `<slot>` runs from
//! 0 to `<slots> - 1`: a table never has more keys. A slot's value names the descriptor it
//! holds by its `d:`/`h:` form ([`descriptor_form`]).

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::actions::Descriptor;
use crate::bucket::BucketSpec;
use crate::config::DescriptorBucket;

/// Prefix of every key this filter writes.
pub const PREFIX: &str = "weir.ratelimit/";

/// Longest descriptor part kept readable in a key.
pub const MAX_DESCRIPTOR_LEN: usize = 160;

/// The key of the default bucket.
pub fn default_key(scope: &str, spec: &BucketSpec) -> String {
    format!("{}default", base(scope, spec))
}

/// The key of a descriptor's own bucket (a pattern with every value given).
pub fn descriptor_key(scope: &str, spec: &BucketSpec, descriptor: &Descriptor) -> String {
    format!("{}{}", base(scope, spec), descriptor_form(descriptor))
}

/// A descriptor as keys name it: `d:<key>=<value>,...`, or `h:<hash>` when that is longer
/// than [`MAX_DESCRIPTOR_LEN`].
pub fn descriptor_form(descriptor: &Descriptor) -> String {
    let mut readable = String::from("d:");
    for (i, (key, value)) in descriptor.iter().enumerate() {
        if i > 0 {
            readable.push(',');
        }
        escape(key, &mut readable);
        readable.push('=');
        escape(value, &mut readable);
    }
    bounded(readable)
}

/// The key prefix of the slots of a value-less pattern's table (slot `i` is the prefix
/// followed by `i`).
pub fn table_prefix(scope: &str, spec: &BucketSpec, slots: u32, pattern: &DescriptorBucket) -> String {
    let mut form = String::new();
    for (i, entry) in pattern.entries.iter().enumerate() {
        if i > 0 {
            form.push(',');
        }
        escape(&entry.key, &mut form);
        if let Some(value) = entry.value.as_deref().filter(|v| !v.is_empty()) {
            form.push('=');
            escape(value, &mut form);
        }
    }
    let form = if form.len() <= MAX_DESCRIPTOR_LEN { form } else { hashed(&form) };
    format!("{}t{slots}:{form}/", base(scope, spec))
}

/// `text`, or its hash when it is longer than [`MAX_DESCRIPTOR_LEN`].
fn bounded(text: String) -> String {
    if text.len() <= MAX_DESCRIPTOR_LEN { text } else { hashed(&text) }
}

/// `h:` and the first 16 bytes of the SHA-256 of `text`, in hex.
fn hashed(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::from("h:");
    for byte in &digest[..16] {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn base(scope: &str, spec: &BucketSpec) -> String {
    let mut out = String::from(PREFIX);
    escape(scope, &mut out);
    let _ = write!(out, "/{}.{}.{}/", spec.max_tokens, spec.tokens_per_fill, spec.fill_interval_ns);
    out
}

fn escape(text: &str, out: &mut String) {
    for byte in text.bytes() {
        match byte {
            b'%' | b'/' | b',' | b'=' => {
                let _ = write!(out, "%{byte:02X}");
            }
            0x21..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: BucketSpec =
        BucketSpec { max_tokens: 10, tokens_per_fill: 2, fill_interval_ns: 1_000_000_000 };

    fn d(pairs: &[(&str, &str)]) -> Descriptor {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn keys_name_scope_parameters_and_descriptor() {
        assert_eq!(default_key("", &SPEC), "weir.ratelimit//10.2.1000000000/default");
        assert_eq!(
            descriptor_key("api", &SPEC, &d(&[("user", "alice"), ("remote_address", "10.0.0.1")])),
            "weir.ratelimit/api/10.2.1000000000/d:user=alice,remote_address=10.0.0.1"
        );
    }

    #[test]
    fn separators_cannot_make_two_descriptors_collide() {
        let a = descriptor_key("", &SPEC, &d(&[("a", "1,b=2")]));
        let b = descriptor_key("", &SPEC, &d(&[("a", "1"), ("b", "2")]));
        assert_ne!(a, b);
        assert!(a.ends_with("d:a=1%2Cb%3D2"), "{a}");
        let spaced = descriptor_key("s/x", &SPEC, &d(&[("k", "a b\u{e9}")]));
        assert!(spaced.starts_with("weir.ratelimit/s%2Fx/"), "{spaced}");
        assert!(spaced.ends_with("d:k=a%20b%C3%A9"), "{spaced}");
    }

    #[test]
    fn long_descriptors_are_hashed_to_a_fixed_length() {
        let long = "v".repeat(500);
        let key = descriptor_key("", &SPEC, &d(&[("k", &long)]));
        assert!(key.ends_with(&format!("h:{}", &key[key.len() - 32..])), "{key}");
        assert_eq!(key.len(), "weir.ratelimit//10.2.1000000000/h:".len() + 32);
        let other = descriptor_key("", &SPEC, &d(&[("k", &format!("{long}w"))]));
        assert_ne!(key, other);
    }

    #[test]
    fn tables_name_their_pattern_and_size() {
        let pattern: DescriptorBucket = serde_json::from_str(
            r#"{"entries": [{"key": "user"}, {"key": "path", "value": "/login"}, {"key": "ip", "value": ""}],
                "token_bucket": {"max_tokens": 10, "tokens_per_fill": 2, "fill_interval": "1s"}}"#,
        )
        .unwrap();
        assert_eq!(
            table_prefix("api", &SPEC, 20, &pattern),
            "weir.ratelimit/api/10.2.1000000000/t20:user,path=%2Flogin,ip/"
        );
        assert_ne!(table_prefix("api", &SPEC, 20, &pattern), table_prefix("api", &SPEC, 21, &pattern));
        assert_eq!(descriptor_form(&d(&[("user", "a")])), "d:user=a");
        let mut long = pattern.clone();
        long.entries[0].key = "k".repeat(300);
        let prefix = table_prefix("", &SPEC, 5, &long);
        assert!(prefix.starts_with("weir.ratelimit//10.2.1000000000/t5:h:") && prefix.len() < 90, "{prefix}");
    }

    #[test]
    fn different_parameters_give_different_keys() {
        let other = BucketSpec { max_tokens: 11, ..SPEC };
        assert_ne!(default_key("", &SPEC), default_key("", &other));
    }
}
