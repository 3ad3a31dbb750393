//! The plain records a VU produces. Small and `Copy` where possible: a batch of them is
//! the only thing that crosses from a VU to the aggregator.

use super::names::NameId;

/// A request's failure kind is the client's own.
pub use crate::client::ErrorKind;

/// One HTTP request as measured by the host. Durations in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSample {
    pub name: NameId,
    pub method: super::tags::Method,
    /// The tags its VU set (`metrics.set-tags`), interned ([`super::tags::encode`]).
    pub tags: Option<NameId>,
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
    /// The W3C trace context the request carried (`--trace-context`, or the
    /// scenario's own `traceparent`).
    pub trace: Option<TraceIds>,
}

/// A request's W3C trace and span ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIds {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

impl TraceIds {
    /// The ids of a `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`); `None` for
    /// anything else, or the all-zero ids the spec calls invalid.
    pub fn parse(traceparent: &str) -> Option<TraceIds> {
        let v = traceparent.trim().as_bytes();
        if v.len() < 55 || v[2] != b'-' || v[35] != b'-' || v[52] != b'-' {
            return None;
        }
        let mut ids = TraceIds {
            trace_id: [0; 16],
            span_id: [0; 8],
        };
        hex_into(&v[3..35], &mut ids.trace_id)?;
        hex_into(&v[36..52], &mut ids.span_id)?;
        (ids.trace_id != [0; 16] && ids.span_id != [0; 8]).then_some(ids)
    }

    pub fn trace_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn span_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The `traceparent` value for these ids, built in one allocation.
    pub fn traceparent(&self, sampled: bool) -> String {
        let mut v = String::with_capacity(55);
        v.push_str("00-");
        push_hex(&self.trace_id, &mut v);
        v.push('-');
        push_hex(&self.span_id, &mut v);
        v.push_str(if sampled { "-01" } else { "-00" });
        v
    }
}

/// Lowercase hex in one allocation (this runs per request with `--trace-context`).
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(bytes, &mut s);
    s
}

fn push_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

fn hex_into(text: &[u8], out: &mut [u8]) -> Option<()> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(())
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
        /// The tags its VU set (`metrics.set-tags`), interned.
        tags: Option<NameId>,
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
