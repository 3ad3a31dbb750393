//! A k6 "Trend" backed by an HDR histogram: every sample counts, none is kept.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// Three significant digits: 0.1% relative error at any magnitude.
const SIGFIG: u8 = 3;

#[derive(Clone, Debug)]
pub struct Trend {
    hist: Histogram<u64>,
}

impl Default for Trend {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Trend {
    fn eq(&self, other: &Self) -> bool {
        self.hist == other.hist
    }
}

impl Trend {
    pub fn new() -> Self {
        // Auto-resizing: memory grows with the largest value seen, not a fixed maximum.
        let mut hist = Histogram::new(SIGFIG).expect("valid sigfig");
        hist.auto(true);
        Trend { hist }
    }

    #[inline]
    pub fn record(&mut self, value: u64) {
        // Cannot fail with auto-resize on; saturate rather than panic on u64::MAX.
        let _ = self.hist.record(value.min(u64::MAX / 2));
    }

    pub fn merge(&mut self, other: &Trend) {
        let _ = self.hist.add(&other.hist);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    pub fn min(&self) -> u64 {
        if self.is_empty() { 0 } else { self.hist.min() }
    }

    pub fn max(&self) -> u64 {
        // `highest_equivalent` makes max exact to the histogram's resolution.
        if self.is_empty() {
            0
        } else {
            self.hist.highest_equivalent(self.hist.max())
        }
    }

    pub fn mean(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.hist.mean()
        }
    }

    pub fn stdev(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.hist.stdev()
        }
    }

    /// Percentile in 0..=100.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.is_empty() {
            return 0;
        }
        self.hist
            .highest_equivalent(self.hist.value_at_quantile((p / 100.0).clamp(0.0, 1.0)))
    }

    /// How many values fall at or below each of `bounds` (ascending) and above the
    /// one before it; the last entry counts those above every bound. A value is
    /// placed by its recorded bucket (0.1% resolution), as the percentiles are.
    pub fn bucket_counts(&self, bounds: &[u64]) -> Vec<u64> {
        let mut out = Vec::with_capacity(bounds.len() + 1);
        let mut below = 0;
        for &b in bounds {
            let upto = if self.is_empty() || b < self.hist.min() {
                0
            } else {
                self.hist.count_between(0, b)
            };
            out.push(upto - below.min(upto));
            below = upto.max(below);
        }
        out.push(self.count().saturating_sub(below));
        out
    }

    /// Lossless, compact text form: base64 of the HdrHistogram V2 deflate encoding,
    /// which other HDR implementations (Java, Go, JS) can also read.
    pub fn encode(&self) -> String {
        B64.encode(self.to_bytes())
    }

    pub fn decode(text: &str) -> Result<Trend, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| format!("histogram is not base64: {e}"))?;
        Trend::from_bytes(&bytes)
    }

    /// The compressed HdrHistogram encoding, for histograms held in memory.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.hist, &mut buf)
            .expect("serializing to memory cannot fail");
        buf
    }

    pub fn from_bytes(mut bytes: &[u8]) -> Result<Trend, String> {
        let mut hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes)
            .map_err(|e| format!("histogram does not decode: {e:?}"))?;
        hist.auto(true);
        Ok(Trend { hist })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_on_known_values() {
        let mut t = Trend::new();
        for v in 1..=1000u64 {
            t.record(v * 1000);
        }
        assert_eq!(t.count(), 1000);
        assert_eq!(t.min(), 1000);
        let p50 = t.percentile(50.0);
        assert!((499_000..=501_000).contains(&p50), "p50 {p50}");
        let p99 = t.percentile(99.0);
        assert!((989_000..=991_000).contains(&p99), "p99 {p99}");
        assert!(
            (t.max() as i64 - 1_000_000).abs() <= 1000,
            "max {}",
            t.max()
        );
        assert!((t.mean() - 500_500.0).abs() < 600.0, "mean {}", t.mean());
    }

    #[test]
    fn encode_decode_is_lossless_and_merge_adds() {
        let mut a = Trend::new();
        let mut b = Trend::new();
        for v in 0..5000u64 {
            a.record(v * 37 % 100_000);
            b.record(v * 91 % 3_000_000);
        }
        let a2 = Trend::decode(&a.encode()).unwrap();
        assert_eq!(a, a2);
        let mut m = a2.clone();
        m.merge(&Trend::decode(&b.encode()).unwrap());
        assert_eq!(m.count(), 10_000);
        assert_eq!(m.max(), b.max().max(a.max()));
        assert!(Trend::decode("not base64!").is_err());
    }

    #[test]
    fn bucket_counts_split_every_value_once() {
        let mut t = Trend::new();
        for v in [500, 900, 1_000, 1_500, 40_000, 2_000_000] {
            t.record(v);
        }
        assert_eq!(
            t.bucket_counts(&[1_000, 10_000, 1_000_000]),
            vec![3, 1, 1, 1]
        );
        assert_eq!(Trend::new().bucket_counts(&[1, 2]), vec![0, 0, 0]);
    }

    #[test]
    fn empty_trend_reports_zeroes() {
        let t = Trend::new();
        assert_eq!(
            (t.count(), t.min(), t.max(), t.percentile(95.0)),
            (0, 0, 0, 0)
        );
    }
}
