//! Plugin histograms as Envoy's admin `/stats` shows them. Envoy merges the values a
//! histogram recorded at each stats flush (every 5 s by default): until a flush has seen a
//! value the line reads `No recorded values`; after it, one `P<q>(<interval>,<cumulative>)`
//! pair per quantile, the interval being what the last flush merged (`nan` when nothing).
//!
//! Values are kept in bins of two significant decimal digits (12 in [12, 13), 150 in
//! [150, 160), 7 in [7, 7.1), 0 on its own), as Envoy's histogram library does; a quantile is
//! read as the rank-th smallest value, the `c` values of a bin taken as evenly spread inside
//! it (the k-th at `left + width·k/(c+1)`). Checked against Envoy 1.40's output.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Envoy's default `stats_flush_interval`.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// The quantiles Envoy reports, with their labels.
const QUANTILES: [(f64, &str); 10] = [
    (0.0, "P0"),
    (0.25, "P25"),
    (0.5, "P50"),
    (0.75, "P75"),
    (0.9, "P90"),
    (0.95, "P95"),
    (0.99, "P99"),
    (0.995, "P99.5"),
    (0.999, "P99.9"),
    (1.0, "P100"),
];

/// A bin: 0 on its own, else (decimal digits, two-digit mantissa 10..=99).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Bin {
    Zero,
    Digits(u32, u64),
}

impl Bin {
    fn of(value: u64) -> Bin {
        if value == 0 {
            return Bin::Zero;
        }
        let digits = value.ilog10() + 1;
        match digits {
            1 => Bin::Digits(1, value * 10),
            d => Bin::Digits(d, value / 10u64.pow(d - 2)),
        }
    }

    /// Lower bound and width.
    fn span(self) -> (f64, f64) {
        match self {
            Bin::Zero => (0.0, 0.0),
            Bin::Digits(1, mantissa) => (mantissa as f64 * 0.1, 0.1),
            Bin::Digits(d, mantissa) => {
                let unit = 10f64.powi(d as i32 - 2);
                (mantissa as f64 * unit, unit)
            }
        }
    }
}

type Bins = BTreeMap<Bin, u64>;

/// The value of rank `rank` (1-based) among the binned values.
fn value_at(bins: &Bins, rank: u64) -> f64 {
    let mut below = 0;
    for (bin, count) in bins {
        if below + count >= rank {
            let (left, width) = bin.span();
            let k = rank - below;
            return left + width * k as f64 / (*count + 1) as f64;
        }
        below += count;
    }
    f64::NAN
}

/// Envoy's quantiles of the binned values (`nan` for none).
fn quantiles(bins: &Bins) -> [f64; 10] {
    let total: u64 = bins.values().sum();
    QUANTILES.map(|(q, _)| {
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        value_at(bins, rank)
    })
}

/// A double as Envoy's `fmt` prints it: the shortest text that reads back the same, with an
/// exponent (`1e+16`) from 1e16 up, `nan` for no value.
fn number(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value != 0.0 && !(1e-4..1e16).contains(&value.abs()) {
        let text = format!("{value:e}");
        return match text.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => text,
        };
    }
    value.to_string()
}

#[derive(Debug, Default)]
struct State {
    /// Recorded since the last flush.
    pending: Bins,
    /// What the last flush merged.
    interval: Bins,
    /// Everything merged so far.
    cumulative: Bins,
    /// The flush period the pending values belong to.
    period: u64,
    /// A flush has merged a value.
    used: bool,
}

impl State {
    /// Runs the flushes due by flush period `now`.
    fn catch_up(&mut self, now: u64) {
        if now <= self.period {
            return;
        }
        self.interval = std::mem::take(&mut self.pending);
        for (bin, count) in &self.interval {
            *self.cumulative.entry(*bin).or_default() += count;
        }
        self.used |= !self.interval.is_empty();
        if now > self.period + 1 {
            self.interval.clear();
        }
        self.period = now;
    }
}

/// One plugin histogram's Envoy view.
#[derive(Debug, Default)]
pub struct EnvoyHistogram {
    state: Mutex<State>,
}

impl EnvoyHistogram {
    /// Records a value during flush period `now`.
    pub fn record(&self, value: u64, now: u64) {
        let mut state = self.state.lock();
        state.catch_up(now);
        *state.pending.entry(Bin::of(value)).or_default() += 1;
    }

    /// The text after `<name>: ` in Envoy's `/stats` during flush period `now`.
    pub fn summary(&self, now: u64) -> String {
        let mut state = self.state.lock();
        state.catch_up(now);
        if !state.used {
            return "No recorded values".into();
        }
        let (interval, cumulative) = (quantiles(&state.interval), quantiles(&state.cumulative));
        let parts: Vec<String> = QUANTILES
            .iter()
            .zip(interval.iter().zip(cumulative.iter()))
            .map(|((_, label), (i, c))| format!("{label}({},{})", number(*i), number(*c)))
            .collect();
        parts.join(" ")
    }
}

/// The flush periods of the process, counted from its start.
#[derive(Debug)]
pub struct FlushClock {
    started: Instant,
}

impl Default for FlushClock {
    fn default() -> FlushClock {
        FlushClock { started: Instant::now() }
    }
}

impl FlushClock {
    /// The current flush period (0 until the first flush).
    pub fn period(&self) -> u64 {
        (self.started.elapsed().as_nanos() / FLUSH_INTERVAL.as_nanos()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records `values` in period 0 and reads the line two flushes later (interval empty).
    fn after_two_flushes(values: &[u64]) -> String {
        let h = EnvoyHistogram::default();
        for v in values {
            h.record(*v, 0);
        }
        assert_eq!(h.summary(0), "No recorded values");
        h.summary(2)
    }

    #[test]
    fn matches_envoy_1_40() {
        // Lines Envoy 1.40 printed for these values (one flush in between: interval `nan`).
        assert_eq!(
            after_two_flushes(&[12, 12, 12]),
            "P0(nan,12.25) P25(nan,12.25) P50(nan,12.5) P75(nan,12.75) P90(nan,12.75) P95(nan,12.75) \
             P99(nan,12.75) P99.5(nan,12.75) P99.9(nan,12.75) P100(nan,12.75)"
        );
        assert_eq!(
            after_two_flushes(&[1, 2, 3, 4]),
            "P0(nan,1.05) P25(nan,1.05) P50(nan,2.05) P75(nan,3.05) P90(nan,4.05) P95(nan,4.05) \
             P99(nan,4.05) P99.5(nan,4.05) P99.9(nan,4.05) P100(nan,4.05)"
        );
        assert_eq!(
            after_two_flushes(&[0, 5, 150, 3000, 123456]),
            "P0(nan,0) P25(nan,5.05) P50(nan,155) P75(nan,3050) P90(nan,125000) P95(nan,125000) \
             P99(nan,125000) P99.5(nan,125000) P99.9(nan,125000) P100(nan,125000)"
        );
        assert_eq!(
            after_two_flushes(&[7; 10]),
            "P0(nan,7.009090909090909) P25(nan,7.027272727272727) P50(nan,7.045454545454546) \
             P75(nan,7.072727272727272) P90(nan,7.081818181818182) P95(nan,7.090909090909091) \
             P99(nan,7.090909090909091) P99.5(nan,7.090909090909091) P99.9(nan,7.090909090909091) \
             P100(nan,7.090909090909091)"
        );
        assert_eq!(
            after_two_flushes(&[99, 100, 1_000_000, 25, 25]),
            "P0(nan,25.333333333333332) P25(nan,25.666666666666668) P50(nan,99.5) P75(nan,105) \
             P90(nan,1050000) P95(nan,1050000) P99(nan,1050000) P99.5(nan,1050000) P99.9(nan,1050000) \
             P100(nan,1050000)"
        );
    }

    #[test]
    fn the_interval_is_the_last_flush() {
        let h = EnvoyHistogram::default();
        h.record(12, 0);
        h.record(12, 1);
        h.record(12, 1);
        let line = h.summary(2);
        assert!(line.starts_with("P0(12.333333333333334,12.25) "), "{line}");
        h.record(12, 2);
        assert!(h.summary(2).starts_with("P0(12.333333333333334,12.25) "));
        assert!(h.summary(4).starts_with("P0(nan,12.2) "), "{}", h.summary(4));
    }

    #[test]
    fn numbers_as_fmt_prints_them() {
        assert_eq!(number(1050000.0), "1050000");
        assert_eq!(number(1e16), "1e+16");
        assert_eq!(number(18446744073709551615.0), "1.8446744073709552e+19");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), "nan");
        assert_eq!(Bin::of(u64::MAX), Bin::Digits(20, 18));
    }
}
