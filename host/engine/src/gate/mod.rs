//! The release gate: thresholds parsed from k6's expression form and evaluated on a
//! finished run's summary. Free of wasmtime types; unit-tested natively.

pub mod baseline;
pub mod curves;
pub mod evaluate;
pub mod judged;
pub mod rule;
pub mod stats;
pub mod threshold;
pub mod verdict;

pub use evaluate::{AbortRule, Evaluation, ThresholdResult, evaluate, lost};
pub use judged::{Judged, Verdict};
pub use threshold::{Threshold, parse};
pub use verdict::{Gate, judge};

#[cfg(test)]
pub(crate) mod tests {
    use crate::metrics::Summary;
    use crate::metrics::aggregate::{Aggregator, RunMeta};
    use crate::metrics::event::{Event, RequestSample};
    use crate::metrics::names::Names;
    use std::sync::Arc;

    /// A summary of `ok` successful and `bad` failed requests of `us` µs each.
    pub(crate) fn summary_of(ok: u64, bad: u64, us: u64) -> Summary {
        let names = Arc::new(Names::new(10));
        let n = names.intern("GET /");
        let mut agg = Aggregator::new(names);
        let events: Vec<Event> = (0..ok + bad)
            .map(|i| {
                Event::Request(RequestSample {
                    verdict: Default::default(),
                    method: Default::default(),
                    tags: None,
                    trace: None,
                    name: n,
                    status: if i < ok { 200 } else { 500 },
                    error: None,
                    at_ms: 0,
                    duration_us: us,
                    waiting_us: us,
                    connecting_us: 0,
                    tls_us: 0,
                    bytes_sent: 1,
                    bytes_received: 1,
                })
            })
            .collect();
        agg.add_batch(&events);
        agg.summary(RunMeta::for_tests(10.0))
    }
}
