//! The baseline's latency distribution beside the current run's: percentile curves
//! (p50..p99.9) overall and per request name, which a report overlays so a reader sees
//! which part of the distribution moved, not only the one percentile a rule reads.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::Summary;
use crate::metrics::summary::TrendSummary;
use crate::metrics::trend::Trend;

/// The percentiles a curve has a point at.
pub const PERCENTILES: [f64; 6] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9];
/// Curves drawn at most: the whole run and the busiest request names (a report of a
/// thousand names stays readable).
pub const MAX_CURVES: usize = 12;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Curve {
    /// `all`, or a request name (with its scenario as `[scenario] name`).
    pub scope: String,
    /// Request durations at [`PERCENTILES`], ms: the baseline's runs pooled.
    pub baseline_ms: Vec<f64>,
    /// The same percentiles of the current run, ms.
    pub current_ms: Vec<f64>,
}

fn pooled<'a>(parts: impl IntoIterator<Item = &'a TrendSummary>) -> Option<Trend> {
    let mut all = Trend::new();
    for t in parts {
        all.merge(&t.trend().ok()?);
    }
    (all.count() > 0).then_some(all)
}

fn at(t: &Trend) -> Vec<f64> {
    // Both histogram units ("us", "milli") read as ms after dividing by 1000.
    PERCENTILES
        .iter()
        .map(|p| t.percentile(*p) as f64 / 1000.0)
        .collect()
}

/// The curves of a comparison: overall first, then the busiest names both sides have,
/// and how many names were left out for the bound.
pub fn curves(history: &[Summary], cur: &Summary) -> (Vec<Curve>, usize) {
    let mut out = Vec::new();
    let pair = |base: Option<Trend>, now: Option<Trend>, scope: String| {
        Some(Curve {
            scope,
            baseline_ms: at(&base?),
            current_ms: at(&now?),
        })
    };
    out.extend(pair(
        pooled(history.iter().map(|h| &h.http_req_duration)),
        pooled([&cur.http_req_duration]),
        "all".into(),
    ));
    let mut names: Vec<_> = cur.endpoints.iter().collect();
    names.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.name.cmp(&b.name)));
    let mut left_out = 0;
    for e in names {
        let label = e.label();
        let base = pooled(history.iter().flat_map(|h| {
            h.endpoints
                .iter()
                .filter(|b| b.label() == label)
                .map(|b| &b.duration)
        }));
        if base.is_none() {
            continue;
        }
        if out.len() >= MAX_CURVES {
            left_out += 1;
            continue;
        }
        out.extend(pair(base, pooled([&e.duration]), label));
    }
    (out, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::tests::summary_of;

    #[test]
    fn curves_pool_the_baseline_runs_and_follow_each_side() {
        let history = [summary_of(100, 0, 2_000), summary_of(100, 0, 4_000)];
        let cur = summary_of(100, 0, 5_000);
        let (c, left_out) = curves(&history, &cur);
        assert_eq!(left_out, 0);
        assert_eq!(c.len(), 2, "all, and GET /");
        assert_eq!((c[0].scope.as_str(), c[1].scope.as_str()), ("all", "GET /"));
        // Pooled baseline: half at 2 ms, half at 4 ms; the p50 is 2 ms, the p75 4 ms.
        assert!((c[0].baseline_ms[0] - 2.0).abs() < 0.01, "{:?}", c[0]);
        assert!((c[0].baseline_ms[1] - 4.0).abs() < 0.01, "{:?}", c[0]);
        assert!(c[0].current_ms.iter().all(|v| (v - 5.0).abs() < 0.01));
        assert_eq!(c[0].baseline_ms.len(), PERCENTILES.len());
    }
}
