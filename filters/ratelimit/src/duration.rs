//! Durations written as text: `"1s"`, `"0.5s"`, `"250ms"`, `"1m"`, `"1h"` (protobuf JSON
//! durations, as Envoy configs write them, plus the units people type anyway).

use std::fmt;

use serde::Deserialize;

/// A positive duration in nanoseconds, parsed from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Duration {
    nanos: u64,
}

impl Duration {
    /// 20 ms, Envoy's default RLS timeout.
    pub const TWENTY_MS: Duration = Duration { nanos: 20_000_000 };

    /// From nanoseconds (0 is refused).
    pub fn from_nanos(nanos: u64) -> Option<Duration> {
        (nanos > 0).then_some(Duration { nanos })
    }

    /// Nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Milliseconds, rounded up.
    pub fn as_millis_ceil(self) -> u64 {
        self.nanos.div_ceil(1_000_000)
    }

    /// Parses `<digits>[.<digits>]<unit>` with unit `ns`, `us`, `ms`, `s`, `m` or `h`.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let per_unit: u64 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("duration {text:?} needs a unit (ns, us, ms, s, m, h), e.g. \"1s\"")),
            other => return Err(format!("duration {text:?}: unknown unit {other:?} (ns, us, ms, s, m, h)")),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(format!("duration {text:?} has no number"));
        }
        let bad = || format!("duration {text:?} is not a number with a unit");
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let mut nanos =
            whole.checked_mul(per_unit).ok_or_else(|| format!("duration {text:?} is too long"))?;
        // The fraction, digit by digit, so "0.1s" is exactly 100 ms.
        let mut scale = per_unit;
        for digit in fraction.chars() {
            let d = u64::from(digit.to_digit(10).ok_or_else(bad)?);
            scale /= 10;
            nanos = nanos.saturating_add(d * scale);
        }
        Duration::from_nanos(nanos).ok_or_else(|| format!("duration {text:?} must be greater than zero"))
    }
}

impl TryFrom<String> for Duration {
    type Error = String;

    fn try_from(text: String) -> Result<Duration, String> {
        Duration::parse(&text)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos.is_multiple_of(1_000_000_000) {
            write!(f, "{}s", self.nanos / 1_000_000_000)
        } else if self.nanos.is_multiple_of(1_000_000) {
            write!(f, "{}ms", self.nanos / 1_000_000)
        } else {
            write!(f, "{}ns", self.nanos)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(text: &str) -> u64 {
        Duration::parse(text).map(Duration::as_nanos).unwrap_or(0)
    }

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(ns("1s"), 1_000_000_000);
        assert_eq!(ns("0.5s"), 500_000_000);
        assert_eq!(ns(".25s"), 250_000_000);
        assert_eq!(ns("1.000340012s"), 1_000_340_012);
        assert_eq!(ns("250ms"), 250_000_000);
        assert_eq!(ns("20ms"), 20_000_000);
        assert_eq!(ns("3us"), 3_000);
        assert_eq!(ns("7ns"), 7);
        assert_eq!(ns("2m"), 120_000_000_000);
        assert_eq!(ns("1h"), 3_600_000_000_000);
        assert_eq!(ns(" 1.5m "), 90_000_000_000);
    }

    #[test]
    fn refuses_what_is_not_a_positive_duration() {
        for bad in ["", "1", "s", "0s", "0.0s", "-1s", "1x", "1.2.3s", "1 s", "99999999999999999999s", "1e3s"]
        {
            assert!(Duration::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let err = Duration::parse("5").unwrap_err();
        assert!(err.contains("needs a unit"), "{err}");
    }

    #[test]
    fn deserializes_from_a_json_string_and_displays() {
        let d: Duration = serde_json::from_str("\"1h\"").unwrap();
        assert_eq!(d.to_string(), "3600s");
        assert_eq!(Duration::parse("20ms").unwrap().to_string(), "20ms");
        assert_eq!(Duration::parse("1.5us").unwrap().as_millis_ceil(), 1);
        assert!(serde_json::from_str::<Duration>("5").is_err());
    }
}
