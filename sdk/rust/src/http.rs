//! HTTP requests: one host call each. The host keeps connections and cookies per VU,
//! follows redirects, decodes content codings and records every request.

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::stampede::scenario::http as wit;

pub use wit::HttpError;

impl From<HttpError> for Error {
    fn from(e: HttpError) -> Self {
        Error(describe(&e))
    }
}

/// `kind: detail`, the kind as the WIT names it (as every SDK words it).
pub fn describe(e: &HttpError) -> String {
    let (kind, detail) = match e {
        HttpError::InvalidUrl(d) => ("invalid-url", d.as_str()),
        HttpError::Denied(d) => ("denied", d.as_str()),
        HttpError::Dns(d) => ("dns", d.as_str()),
        HttpError::Connect(d) => ("connect", d.as_str()),
        HttpError::Tls(d) => ("tls", d.as_str()),
        HttpError::Timeout => ("timeout", ""),
        HttpError::Protocol(d) => ("protocol", d.as_str()),
        HttpError::TooLarge(d) => ("too-large", d.as_str()),
    };
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// A request being built; `send` makes the one host call. It borrows what it can (the
/// URL, the name, header fields): a request built from a VU's own strings allocates
/// nothing in the guest.
#[must_use = "a request does nothing until .send()"]
pub struct Request<'a> {
    method: Cow<'a, str>,
    url: Cow<'a, str>,
    headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    body: Vec<u8>,
    name: Option<Cow<'a, str>>,
    timeout_ms: Option<u32>,
    read: wit::ReadFlags,
    trace: Option<wit::TraceMode>,
}

pub fn request<'a>(method: impl Into<Cow<'a, str>>, url: impl Into<Cow<'a, str>>) -> Request<'a> {
    Request {
        method: method.into(),
        url: url.into(),
        headers: Vec::new(),
        body: Vec::new(),
        name: None,
        timeout_ms: None,
        read: wit::ReadFlags::empty(),
        trace: None,
    }
}

pub fn get<'a>(url: impl Into<Cow<'a, str>>) -> Request<'a> {
    request("GET", url)
}
pub fn post<'a>(url: impl Into<Cow<'a, str>>) -> Request<'a> {
    request("POST", url)
}
pub fn put<'a>(url: impl Into<Cow<'a, str>>) -> Request<'a> {
    request("PUT", url)
}
pub fn patch<'a>(url: impl Into<Cow<'a, str>>) -> Request<'a> {
    request("PATCH", url)
}
pub fn delete<'a>(url: impl Into<Cow<'a, str>>) -> Request<'a> {
    request("DELETE", url)
}
pub fn head<'a>(url: impl Into<Cow<'a, str>>) -> Request<'a> {
    request("HEAD", url)
}

/// Percent-encodes for `application/x-www-form-urlencoded` and query strings.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl<'a> Request<'a> {
    pub fn header(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// Groups the request in metrics under `name`, e.g. `GET /api/v1/products/:id`.
    pub fn name(mut self, name: impl Into<Cow<'a, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Appends `key=value` to the URL's query string.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        let url = self.url.to_mut();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&urlencode(key));
        url.push('=');
        url.push_str(&urlencode(value));
        self
    }

    /// A JSON body (and its content type).
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.body = serde_json::to_vec(value).unwrap_or_default();
        self.header("Content-Type", "application/json")
    }

    /// A form-encoded body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = encode_pairs(pairs).into_bytes();
        self.header("Content-Type", "application/x-www-form-urlencoded")
    }

    /// A `multipart/form-data` body (file uploads), with its content type.
    pub fn multipart(mut self, form: Multipart) -> Self {
        let (content_type, body) = form.finish();
        self.body = body;
        self.header("Content-Type", content_type)
    }

    /// Sets several query parameters at once: `.query_pairs(&[("page", "1"), ("limit", "20")])`.
    pub fn query_pairs(self, pairs: &[(&str, &str)]) -> Self {
        pairs.iter().fold(self, |r, (k, v)| r.query(k, v))
    }

    /// A raw body.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = bytes.into();
        self
    }

    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout_ms = Some(d.as_millis().min(u32::MAX as u128) as u32);
        self
    }

    /// Copy the response body (and headers) back; without it only the size is known,
    /// which is all most load-test requests need.
    pub fn read_body(mut self) -> Self {
        self.read |= wit::ReadFlags::BODY | wit::ReadFlags::HEADERS;
        self
    }

    /// Copy only the response headers back.
    pub fn read_headers(mut self) -> Self {
        self.read |= wit::ReadFlags::HEADERS;
        self
    }

    /// A W3C `traceparent` on this request (sampled or not), whatever the run's
    /// `--trace-context`: a span of the iteration's trace.
    pub fn trace(mut self, sampled: bool) -> Self {
        self.trace = Some(if sampled {
            wit::TraceMode::Sampled
        } else {
            wit::TraceMode::Unsampled
        });
        self
    }

    /// No `traceparent` on this request, even with `--trace-context`.
    pub fn no_trace(mut self) -> Self {
        self.trace = Some(wit::TraceMode::Off);
        self
    }

    pub fn send(self) -> Result<Response, HttpError> {
        // Borrowed for the call: the bindings pass pointers into the guest's memory.
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(k, v)| (&**k, &**v)).collect();
        let req = wit::HttpRequest {
            method: &self.method,
            url: &self.url,
            headers: &headers,
            body: &self.body,
            name: self.name.as_deref(),
            timeout_ms: self.timeout_ms,
            read: self.read,
        };
        if let Some(mode) = self.trace {
            wit::trace_context(mode);
        }
        let sent = wit::send(req);
        if self.trace.is_some() {
            wit::trace_context(wit::TraceMode::Run);
        }
        Ok(Response { inner: sent? })
    }
}

/// Sends `requests` at once (each on a connection of its own), at most 20 in flight and
/// 6 to one origin, as k6's `http.batch` does; their outcomes in the same order. Each is
/// recorded as `send` records one. The error is the host refusing the batch whole (more
/// than 1,000 requests).
pub fn batch(requests: Vec<Request<'_>>) -> Result<Vec<Result<Response, HttpError>>, Error> {
    batch_within(requests, 20, 6)
}

/// [`batch`] with its limits: in flight at once in all, and to one origin (each 1 to 64).
pub fn batch_within(
    requests: Vec<Request<'_>>,
    parallel: u32,
    per_host: u32,
) -> Result<Vec<Result<Response, HttpError>>, Error> {
    let headers: Vec<Vec<(&str, &str)>> = requests
        .iter()
        .map(|r| r.headers.iter().map(|(k, v)| (&**k, &**v)).collect())
        .collect();
    let items: Vec<wit::BatchItem<'_>> = requests
        .iter()
        .zip(&headers)
        .map(|(r, headers)| wit::BatchItem {
            request: wit::HttpRequest {
                method: &r.method,
                url: &r.url,
                headers,
                body: &r.body,
                name: r.name.as_deref(),
                timeout_ms: r.timeout_ms,
                read: r.read,
            },
            deferred: false,
            follow_redirects: true,
            tags: None,
        })
        .collect();
    let answers =
        wit::send_batch(&items, wit::BatchLimits { parallel, per_host }).map_err(Error)?;
    Ok(answers
        .into_iter()
        .map(|a| a.map(|p| Response { inner: unpacked(p) }))
        .collect())
}

/// A `packed-response` as the `http-response` it packs.
fn unpacked(p: wit::PackedResponse) -> wit::HttpResponse {
    let headers = p.head.map(|head| {
        let mut lines = head.split('\n');
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
            out.push((k.to_string(), v.to_string()));
        }
        out
    });
    let t = |i: usize| u64::from(p.timings.get(i).copied().unwrap_or(0));
    wit::HttpResponse {
        status: p.status,
        headers,
        body: p.body,
        body_size: p.body_size,
        final_url: p.final_url,
        timings: wit::Timings {
            connect_us: t(0),
            tls_us: t(1),
            send_us: t(2),
            wait_us: t(3),
            receive_us: t(4),
            total_us: t(5),
        },
    }
}

pub struct Response {
    inner: wit::HttpResponse,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.inner.status)
    }

    /// The response as an error unless its status is 2xx or 3xx (Locust's
    /// `catch_response` failure, with the status in the message).
    pub fn error_for_status(self) -> Result<Self, Error> {
        if self.inner.status < 400 {
            Ok(self)
        } else {
            Err(Error(format!(
                "unexpected status {}{}",
                self.inner.status,
                if let Some(body) = self.inner.body.as_deref().filter(|b| !b.is_empty()) {
                    format!(
                        ": {}",
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    )
                } else {
                    String::new()
                }
            )))
        }
    }

    /// Locust's `response.failure(msg)`: the response as a task failure with `msg` (and
    /// the status) unless `ok` holds of it.
    pub fn ensure(self, ok: impl FnOnce(&Self) -> bool, msg: &str) -> Result<Self, Error> {
        if ok(&self) {
            Ok(self)
        } else {
            Err(Error(format!("{msg} (status {})", self.inner.status)))
        }
    }

    /// The response unless its status differs from `status`; the failure names both.
    pub fn expect_status(self, status: u16) -> Result<Self, Error> {
        let got = self.inner.status;
        self.ensure(
            |r| r.status() == status,
            &format!("expected status {status}, got {got}"),
        )
    }

    fn need_body(&self) -> Result<&[u8], Error> {
        self.inner.body.as_deref().ok_or_else(|| {
            Error::msg("the response body was not requested: call .read_body() on the request")
        })
    }

    pub fn body(&self) -> Result<&[u8], Error> {
        self.need_body()
    }

    pub fn text(&self) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(self.need_body()?).into_owned())
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_slice(self.need_body()?)?)
    }

    /// Size of the (decoded) body, known even when it was not copied.
    pub fn body_size(&self) -> u64 {
        self.inner.body_size
    }

    /// First header with this name (case-insensitive); needs `.read_headers()` or
    /// `.read_body()` on the request.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner
            .headers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The URL of the last response when redirects were followed; `None` when the
    /// response is the request's own URL's.
    pub fn final_url(&self) -> Option<&str> {
        self.inner.final_url.as_deref()
    }

    pub fn timings(&self) -> &wit::Timings {
        &self.inner.timings
    }
}

/// A `multipart/form-data` body being built: text fields and files.
///
/// ```ignore
/// let form = Multipart::new()
///     .text("importType", "full")
///     .file("file", "customers.csv", "text/csv", csv_bytes);
/// http::post("/api/v1/imports/customers").multipart(form).send()?;
/// ```
#[derive(Default)]
pub struct Multipart {
    parts: Vec<Part>,
}

struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Self {
        Self::default()
    }

    /// A text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.parts.push(Part {
            name: name.to_string(),
            file_name: None,
            content_type: None,
            data: value.as_bytes().to_vec(),
        });
        self
    }

    /// A file field with its file name and content type.
    pub fn file(
        mut self,
        name: &str,
        file_name: &str,
        content_type: &str,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        self.parts.push(Part {
            name: name.to_string(),
            file_name: Some(file_name.to_string()),
            content_type: Some(content_type.to_string()),
            data: data.into(),
        });
        self
    }

    /// (content type with boundary, body). The boundary is chosen so that it appears in
    /// no part.
    pub fn finish(self) -> (String, Vec<u8>) {
        let mut seed = self.parts.iter().map(|p| p.data.len() as u64).sum::<u64>();
        let boundary = loop {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let b = format!("----stampede{seed:016x}");
            let clash = self
                .parts
                .iter()
                .any(|p| p.data.windows(b.len()).any(|w| w == b.as_bytes()));
            if !clash {
                break b;
            }
        };
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut body = Vec::new();
        for p in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disp = format!(
                "Content-Disposition: form-data; name=\"{}\"",
                quote(&p.name)
            );
            if let Some(f) = &p.file_name {
                disp.push_str(&format!("; filename=\"{}\"", quote(f)));
            }
            body.extend_from_slice(disp.as_bytes());
            body.extend_from_slice(b"\r\n");
            if let Some(ct) = &p.content_type {
                body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&p.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }
}

/// The VU's cookie jar, which the host keeps: the cookies servers set, and those set
/// here, go out on every request they match.
pub mod cookies {
    use super::{HttpError, wit};

    /// The cookies the jar sends to `url` (a path resolves against the target), as
    /// (name, value).
    pub fn for_url(url: &str) -> Result<Vec<(String, String)>, HttpError> {
        wit::cookies_for(url)
    }

    /// Stores a cookie as if `url` had answered with this `Set-Cookie` value, e.g.
    /// `"theme=dark; Path=/"`.
    pub fn set(url: &str, set_cookie: &str) -> Result<(), HttpError> {
        wit::set_cookie(url, set_cookie)
    }

    /// Removes the cookies sent to `url` (every cookie, with `None`), or only those
    /// named `name`; how many went.
    pub fn clear(url: Option<&str>, name: Option<&str>) -> Result<u32, HttpError> {
        wit::clear_cookies(url, name)
    }
}
