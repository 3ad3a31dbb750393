//! The plain records a VU produces. Small and `Copy` where possible: a batch of them is
//! the only thing that crosses from a VU to the aggregator.

use super::names::NameId;

/// A request's failure kind is the client's own.
pub use crate::client::ErrorKind;

/// One HTTP request as measured by the host. Durations in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSample {
    pub name: NameId,
    /// HTTP status of the final response; 0 when `error` is set.
    pub status: u16,
    pub error: Option<ErrorKind>,
    /// Milliseconds since the run started, when the request began (for time series).
    pub at_ms: u32,
    pub duration_us: u64,
    pub waiting_us: u64,
    pub connecting_us: u64,
    pub tls_us: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub verdict: Verdict,
}

/// Who decides whether a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Its status: 4xx and 5xx fail.
    #[default]
    ByStatus,
    /// The scenario passed it (Locust's `response.success()`), whatever its status.
    Passed,
    /// The scenario failed it (`response.failure(msg)`), whatever its status.
    Failed,
}

impl RequestSample {
    /// k6's `http_req_failed`: transport errors and statuses >= 400, unless the scenario
    /// judged the response itself. A request that got no response fails either way.
    pub fn failed(&self) -> bool {
        self.error.is_some()
            || match self.verdict {
                Verdict::ByStatus => self.status >= 400,
                Verdict::Passed => false,
                Verdict::Failed => true,
            }
    }
}

/// A user-defined metric sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CustomValue {
    Counter(f64),
    Trend(f64),
    Rate(bool),
    Gauge(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Request(RequestSample),
    Check {
        name: NameId,
        ok: bool,
    },
    /// One task run (a k6 iteration). `error` carries the scenario's failure message or
    /// the trap, only on failure.
    Iteration {
        task: NameId,
        at_ms: u32,
        duration_us: u64,
        error: Option<Box<str>>,
    },
    /// Per-user setup or teardown failed, or the instance trapped outside a task.
    LifecycleError {
        message: Box<str>,
    },
    /// Why the scenario failed request `name` (Locust's `response.failure(msg)`).
    RequestFailure {
        name: NameId,
        message: Box<str>,
    },
    Custom {
        name: NameId,
        value: CustomValue,
    },
}
