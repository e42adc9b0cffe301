//! The one number rule: a `google.protobuf.Struct` number is an `f64`; an integral value that
//! an `f64` holds exactly (|n| < 2^53) becomes a JSON integer, so `10` stays `10` (not
//! `10.0`) whichever side decoded the layer; a non-finite number becomes `null` (which
//! flattening then rejects).

use serde_json::{Number, Value};

/// A `Struct` number as a JSON value.
pub fn struct_number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_stay_integers() {
        assert_eq!(struct_number(10.0).to_string(), "10");
        assert_eq!(struct_number(-3.0).to_string(), "-3");
        assert_eq!(struct_number(0.5).to_string(), "0.5");
        assert_eq!(struct_number(9_007_199_254_740_992.0).to_string(), "9007199254740992.0");
        assert_eq!(struct_number(f64::NAN), Value::Null);
        assert_eq!(struct_number(f64::INFINITY), Value::Null);
    }
}
