//! What the client is given and gives back: its settings, a request, a response and
//! what an exchange cost.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::HeaderValue;
use tokio_rustls::TlsConnector;
use url::Url;

use super::cookies;

/// Settings shared by all VUs of a run.
#[derive(Clone)]
pub struct ClientConfig {
    pub tls: TlsConnector,
    pub timeout: Duration,
    pub max_redirects: u32,
    /// Largest response body buffered for a scenario that asked for it, and largest
    /// request body sent.
    pub max_body: usize,
    /// Past `max_body`, keep the first `max_body` bytes instead of failing the request.
    pub truncate_bodies: bool,
    pub user_agent: HeaderValue,
    /// What every VU's cookie jar refused or evicted (shared, for the summary).
    pub cookie_limits: Arc<cookies::CookieLimits>,
    /// `Some(sampled)`: every request carries a W3C `traceparent` (`--trace-context`).
    pub trace_context: Option<bool>,
}

impl ClientConfig {
    pub fn new(tls: rustls::ClientConfig) -> Self {
        ClientConfig {
            tls: TlsConnector::from(Arc::new(tls)),
            timeout: Duration::from_secs(60),
            max_redirects: 10,
            max_body: 64 << 20,
            truncate_bodies: false,
            user_agent: HeaderValue::from_static(concat!("stampede/", env!("CARGO_PKG_VERSION"))),
            cookie_limits: Default::default(),
            trace_context: None,
        }
    }
}

pub struct Request {
    pub method: Method,
    /// Shared: a VU keeps the URLs it requests resolved, and hands them out uncopied.
    pub url: Arc<Url>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub timeout: Option<Duration>,
    pub read_body: bool,
    pub read_headers: bool,
    /// Redirects are followed unless the scenario asked not to (a 3xx is then the
    /// response).
    pub follow_redirects: bool,
}

#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub body_size: u64,
    pub final_url: String,
}

/// Phases of a request in microseconds (summed over redirects).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    pub connect_us: u64,
    pub tls_us: u64,
    pub send_us: u64,
    pub wait_us: u64,
    pub receive_us: u64,
    pub total_us: u64,
}

/// What one request cost, whatever its outcome.
#[derive(Debug, Default, Clone, Copy)]
pub struct Measured {
    pub timings: Timings,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}
