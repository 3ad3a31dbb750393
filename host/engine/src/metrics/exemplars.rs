//! The slowest traced requests of an endpoint (`--trace-context`): a few each, so
//! "p99 was 2 s" leads to those requests' traces in the target's tracing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::event::TraceIds;

/// Traced requests kept per endpoint.
pub const MAX_EXEMPLARS: usize = 5;

/// One slow request and its trace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exemplar {
    /// W3C trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// The request's span id (its `traceparent` parent id), 16 hex digits.
    pub span_id: String,
    pub duration_ms: f64,
    /// When the request began, in milliseconds since the run started.
    pub at_ms: u32,
}

/// The slowest traced requests seen, slowest first, at most [`MAX_EXEMPLARS`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slowest {
    items: Vec<(u64, u32, TraceIds)>,
}

impl Slowest {
    #[inline]
    pub fn offer(&mut self, duration_us: u64, at_ms: u32, trace: TraceIds) {
        if self.items.len() == MAX_EXEMPLARS
            && self.items.last().is_some_and(|(d, ..)| *d >= duration_us)
        {
            return;
        }
        let at = self.items.partition_point(|(d, ..)| *d >= duration_us);
        self.items.insert(at, (duration_us, at_ms, trace));
        self.items.truncate(MAX_EXEMPLARS);
    }

    pub fn exemplars(&self) -> Vec<Exemplar> {
        self.items
            .iter()
            .map(|(d, at_ms, t)| Exemplar {
                trace_id: t.trace_hex(),
                span_id: t.span_hex(),
                duration_ms: *d as f64 / 1000.0,
                at_ms: *at_ms,
            })
            .collect()
    }
}

/// Several endpoints' exemplars as one: the slowest of them all.
pub fn merge<'a>(lists: impl IntoIterator<Item = &'a [Exemplar]>) -> Vec<Exemplar> {
    let mut all: Vec<Exemplar> = lists.into_iter().flatten().cloned().collect();
    all.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
    all.truncate(MAX_EXEMPLARS);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u8) -> TraceIds {
        TraceIds {
            trace_id: [n; 16],
            span_id: [n; 8],
        }
    }

    #[test]
    fn the_slowest_few_are_kept_slowest_first() {
        let mut s = Slowest::default();
        for (i, d) in [5u64, 90, 1, 40, 70, 3, 100, 60].into_iter().enumerate() {
            s.offer(d * 1000, i as u32, ids(i as u8 + 1));
        }
        let e = s.exemplars();
        let durations: Vec<f64> = e.iter().map(|x| x.duration_ms).collect();
        assert_eq!(durations, [100.0, 90.0, 70.0, 60.0, 40.0]);
        assert_eq!(e[0].trace_id, "07".repeat(16));
        assert_eq!(e[0].span_id, "07".repeat(8));
        let merged = merge([&e[..2], &e[3..]]);
        assert_eq!(merged.len(), 4);
        assert_eq!(merged[1].duration_ms, 90.0);
    }

    #[test]
    fn traceparent_values_parse_or_are_refused() {
        let t = TraceIds::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(t.trace_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.span_hex(), "00f067aa0ba902b7");
        assert_eq!(
            t.traceparent(false),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        );
        assert_eq!(TraceIds::parse(&t.traceparent(true)), Some(t));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceIds::parse(bad), None, "{bad}");
        }
    }
}
