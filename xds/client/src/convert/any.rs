//! `google.protobuf.Any` packing and checked unpacking.

use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

/// An `Any` that is not what it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnyError {
    /// The type URL names another type.
    #[error("expected {expected}, got {actual}")]
    WrongType {
        /// The type wanted.
        expected: String,
        /// The type found.
        actual: String,
    },
    /// The bytes do not decode as that type.
    #[error("cannot decode {type_url}: {reason}")]
    Decode {
        /// The type.
        type_url: String,
        /// The decoder's message.
        reason: String,
    },
}

/// Packs a message with its canonical type URL.
pub fn pack<M: Message + Name>(message: &M) -> Any {
    Any { type_url: M::type_url(), value: message.encode_to_vec() }
}

/// Unpacks a message, checking the type URL (any `host/` prefix is accepted, as protobuf does).
pub fn unpack<M: Message + Name + Default>(any: &Any) -> Result<M, AnyError> {
    let expected = M::full_name();
    let actual = any.type_url.rsplit('/').next().unwrap_or("");
    if actual != expected {
        return Err(AnyError::WrongType { expected, actual: any.type_url.clone() });
    }
    M::decode(any.value.as_slice())
        .map_err(|e| AnyError::Decode { type_url: any.type_url.clone(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::service::runtime::v3::Runtime;
    use envoy_types::pb::google::protobuf::StringValue;

    use super::*;

    #[test]
    fn pack_unpack_checks_the_type() {
        let runtime = Runtime { name: "layer".into(), layer: None };
        let any = pack(&runtime);
        assert_eq!(any.type_url, "type.googleapis.com/envoy.service.runtime.v3.Runtime");
        assert_eq!(unpack::<Runtime>(&any).unwrap(), runtime);
        let err = unpack::<StringValue>(&any).unwrap_err();
        assert!(matches!(err, AnyError::WrongType { .. }), "{err}");
        let garbage = Any { type_url: any.type_url.clone(), value: vec![0xff, 0xff] };
        assert!(matches!(unpack::<Runtime>(&garbage), Err(AnyError::Decode { .. })));
    }
}
