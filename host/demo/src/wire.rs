//! What the demo shop's handlers share: its counters and the shape of its answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};

/// What the target saw, so tests can check a scenario really did its steps.
#[derive(Debug, Default)]
pub struct DemoStats {
    pub requests: AtomicU64,
    pub logins: AtomicU64,
    pub failed_logins: AtomicU64,
    pub product_lists: AtomicU64,
    pub product_views: AtomicU64,
    pub me: AtomicU64,
    /// Requests refused for a missing, unknown or expired token or API key.
    pub unauthorized: AtomicU64,
    /// Of those, tokens that had expired.
    pub expired_tokens: AtomicU64,
    pub carts_created: AtomicU64,
    pub items_added: AtomicU64,
    pub orders_placed: AtomicU64,
    pub orders_rejected: AtomicU64,
    /// `grant_type=password` grants issued.
    pub oauth_grants: AtomicU64,
    /// `grant_type=refresh_token` rotations.
    pub oauth_refreshes: AtomicU64,
    pub oauth_rejected: AtomicU64,
    pub dashboard_views: AtomicU64,
    pub usage_reports: AtomicU64,
    pub imports_accepted: AtomicU64,
    pub imports_rejected: AtomicU64,
    /// CSV data rows received in accepted uploads.
    pub import_rows_received: AtomicU64,
    /// Rows a completed job imported (valid ones; the rest are rejected).
    pub import_rows_imported: AtomicU64,
    pub import_jobs_completed: AtomicU64,
    pub import_status_polls: AtomicU64,
    pub import_lists: AtomicU64,
}

impl DemoStats {
    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Shorthand for reading a counter in tests and reports.
pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::SeqCst)
}

pub type Resp = Response<Full<Bytes>>;
/// A refusal to answer with instead (boxed: a response is large).
pub(super) type Refused = Box<Resp>;

pub(super) fn json_resp(status: StatusCode, v: &Value) -> Resp {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .expect("valid response")
}

pub(super) fn error(status: StatusCode, msg: &str) -> Resp {
    json_resp(status, &json!({ "error": msg }))
}

pub(super) fn query(uri: &http::Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON request body, or the 400 answer to send instead.
pub(super) fn json_body(body: &[u8]) -> Result<Value, Refused> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                "expected a JSON object body",
            ))
        })
}
