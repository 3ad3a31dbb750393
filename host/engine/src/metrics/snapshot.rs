//! The figures so far in the shape live outputs need (counters and bucketed
//! histograms), taken from the aggregator once a second while an output is on.

/// Upper bounds of the latency buckets live outputs show, in microseconds: from 1 ms
/// to a minute, about three per decade.
pub const LATENCY_BOUNDS_US: [u64; 15] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

/// A histogram cut into [`LATENCY_BOUNDS_US`] buckets: `buckets[i]` counts the values
/// in bucket `i` alone (not cumulated), the last one those above every bound.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub count: u64,
    pub sum_us: u64,
    pub buckets: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointSnapshot {
    pub name: String,
    /// Responses by status code.
    pub status: Vec<(u16, u64)>,
    /// Requests that got no response, by error kind (`connect`, `timeout`...).
    pub errors: Vec<(&'static str, u64)>,
    pub failed: u64,
    pub data_sent: u64,
    pub data_received: u64,
    pub duration: Buckets,
    /// The slowest traced requests, slowest first.
    pub exemplars: Vec<super::exemplars::Exemplar>,
}

/// One scenario's figures at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub endpoints: Vec<EndpointSnapshot>,
    /// Check name, passes, fails.
    pub checks: Vec<(String, u64, u64)>,
    pub iterations: u64,
    pub iterations_failed: u64,
    pub dropped_iterations: u64,
    pub vus: u32,
    /// Every VU is gone and every batch is in: these are the final figures.
    pub finished: bool,
}
