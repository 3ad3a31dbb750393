//! The per-VU HTTP client: the VU's own keep-alive connections (`pool`, one per origin, as a
//! real client holds them), its cookie jar, redirects and content codings, with every phase timed.

mod batch;
mod body;
mod connect;
pub mod cookies;
mod error;
mod h1;
mod h2;
mod headers;
mod origin;
pub mod policy;
mod pool;
mod resolve;
pub mod tls;
mod types;

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header;
use http::{Method, StatusCode};
use url::Url;

use crate::timeout::{Elapsed, Timeout};
pub use batch::{BatchLimits, MAX_BATCH_PARALLEL};
use body::{BodyLimit, Coding, Out};
use connect::{ConnectTimes, Sender};
pub use error::{ClientError, ErrorKind};
pub use origin::Origin;
pub use resolve::{FixedResolver, ResolveFuture, Resolver, SystemResolver};
pub use types::{ClientConfig, Measured, Request, Response, Timings};

pub struct VuClient {
    config: Arc<ClientConfig>,
    resolver: Arc<dyn Resolver>,
    pool: pool::Pool,
    cookies: cookies::Jar,
    has_cookies: bool,
    /// Size of the first read of a response: the last response's size, so that small
    /// responses take a small buffer and large ones few reads.
    read_hint: usize,
    /// The request timeout's timer, kept from one request to the next.
    timer: Timeout,
    /// On a batch's lane: the `Set-Cookie` values its responses carried, for the VU's
    /// jar.
    learned: Option<Vec<(Box<str>, Arc<Url>)>>,
}

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

impl VuClient {
    pub fn new(config: Arc<ClientConfig>, resolver: Arc<dyn Resolver>) -> Self {
        let cookies = cookies::Jar::new(config.cookie_limits.clone());
        VuClient {
            config,
            resolver,
            pool: pool::Pool::default(),
            cookies,
            has_cookies: false,
            read_hint: h1::MIN_FIRST_READ,
            timer: Timeout::default(),
            learned: None,
        }
    }

    /// Sends `req`, following redirects. Never panics; every failure is a
    /// [`ClientError`], and the costs are measured either way.
    pub async fn send(&mut self, req: Request) -> (Result<Response, ClientError>, Measured) {
        self.send_at(req, Instant::now()).await
    }

    /// [`Self::send`], timed from `start` (the caller's clock read, just before).
    pub async fn send_at(
        &mut self,
        req: Request,
        start: Instant,
    ) -> (Result<Response, ClientError>, Measured) {
        let start = tokio::time::Instant::from_std(start);
        let timeout = req.timeout.unwrap_or(self.config.timeout);
        let mut m = Measured::default();
        // Taken out for the call: the exchange borrows the rest of the client.
        let mut timer = std::mem::take(&mut self.timer);
        let res = timer
            .within(
                start,
                timeout,
                self.send_inner_boxed(req, start.into_std(), &mut m),
            )
            .await;
        self.timer = timer;
        let res = match res {
            Ok(r) => r,
            Err(Elapsed) => {
                // A half-used connection cannot be trusted after a timeout.
                self.pool.clear();
                Err(ClientError::new(
                    ErrorKind::Timeout,
                    format!("no response within {}", humantime::format_duration(timeout)),
                ))
            }
        };
        // A completed exchange timed itself with its last clock read.
        if res.is_err() {
            m.timings.total_us = us(start.elapsed());
        }
        (res, m)
    }

    /// The exchange as a boxed future: only its pointer is in the caller's state, which
    /// stays small (building a future copies all of it).
    #[inline(never)]
    fn send_inner_boxed<'a>(
        &'a mut self,
        req: Request,
        start: Instant,
        m: &'a mut Measured,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ClientError>> + Send + 'a>> {
        Box::pin(self.send_inner(req, start, m))
    }

    /// The exchange begun at `start`; sets the total time of one that completes.
    async fn send_inner(
        &mut self,
        req: Request,
        start: Instant,
        m: &mut Measured,
    ) -> Result<Response, ClientError> {
        let Request {
            mut method,
            mut url,
            headers,
            mut body,
            read_body,
            read_headers,
            follow_redirects,
            ..
        } = req;
        let mut redirects = 0;
        loop {
            let mut retried = false;
            let response = loop {
                let (idx, reused) = self.conn_for(&url, m).await?;
                let request = match &self.pool[idx].sender {
                    Sender::H1(_) => Outgoing::H1(self.heads().h1_head(
                        &method,
                        &url,
                        &headers,
                        body.len(),
                        &self.pool[idx].host_header,
                    )?),
                    Sender::H2(_) => {
                        Outgoing::H2(Box::new(self.heads().h2_request(&method, &url, &headers)?))
                    }
                };
                let conn = &mut self.pool[idx];
                let counts = conn.counts.clone();
                let failure = match (&mut conn.sender, request) {
                    (Sender::H1(io), Outgoing::H1(request)) => {
                        match h1::send_boxed(io, request, &body, read_headers, &mut m.timings).await
                        {
                            Ok((parts, ex)) => {
                                break Answer {
                                    parts,
                                    incoming: Incoming::H1(ex),
                                    conn: idx,
                                    counts,
                                };
                            }
                            Err(h1::Failure::NoResponse { sent, message }) => {
                                // Nothing came back on a kept-alive connection: the server
                                // may have closed it meanwhile. Retry once on a fresh one if
                                // the request never left, or if it is idempotent.
                                (reused && (!sent || method.is_idempotent()), message)
                            }
                            Err(h1::Failure::Protocol(message)) => (false, message),
                        }
                    }
                    (Sender::H2(s), Outgoing::H2(request)) => {
                        let result = h2::send(s, *request, &body, &mut m.timings).await;
                        match result {
                            Ok(resp) => {
                                let (parts, incoming) = resp.into_parts();
                                break Answer {
                                    parts,
                                    incoming: Incoming::H2(incoming),
                                    conn: idx,
                                    counts,
                                };
                            }
                            Err(mut e) => {
                                let unsent = e.take_message().is_some();
                                let err = e.into_error();
                                let stale =
                                    reused && (err.is_incomplete_message() || err.is_canceled());
                                (unsent || (stale && method.is_idempotent()), err.to_string())
                            }
                        }
                    }
                    // Built above for this very connection.
                    _ => unreachable!("request built for another protocol"),
                };
                let (retry, message) = failure;
                let dead = self.pool.remove(idx);
                if retry && !retried {
                    retried = true;
                    continue;
                }
                return Err(ClientError::new(
                    ErrorKind::Protocol,
                    format!("{}: {message}", dead.origin),
                ));
            };
            let Answer {
                parts,
                incoming,
                conn: idx,
                counts,
            } = response;
            let status = parts.status;
            if self.has_cookies || parts.headers.contains_key(header::SET_COOKIE) {
                for v in parts.headers.get_all(header::SET_COOKIE) {
                    let Ok(v) = v.to_str() else { continue };
                    if let Some(learned) = &mut self.learned {
                        learned.push((v.into(), url.clone()));
                    }
                    if self.cookies.set(v, &url).is_ok() {
                        self.has_cookies = true;
                    }
                }
            }
            let location = if follow_redirects && is_redirect(status) {
                parts
                    .headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok())
            } else {
                None
            };
            let follow = location.is_some();
            let coding = parts
                .headers
                .get(header::CONTENT_ENCODING)
                .and_then(|v| Coding::parse(v.as_bytes()));
            let keep = read_body && !follow;
            let t_recv = match &incoming {
                Incoming::H1(ex) => ex.head_at,
                Incoming::H2(_) => Instant::now(),
            };
            let limit = BodyLimit {
                max: self.config.max_body,
                truncate: self.config.truncate_bodies,
            };
            let mut out = Out::new(coding, keep, limit);
            let reusable = match incoming {
                Incoming::H1(ex) => ex.read_body(|d| out.feed(d)).await,
                Incoming::H2(body) => Box::pin(h2::read_body(body, &mut out)).await.map(|()| true),
            };
            let body_res = reusable.and_then(|r| out.finish().map(|b| (b, r)));
            let done = Instant::now();
            m.timings.receive_us += us(done - t_recv);
            let (sent, received) = counts.claim();
            m.bytes_sent += sent;
            m.bytes_received += received;
            self.read_hint = h1::first_read_for(received);
            let (body_bytes, body_size) = match body_res {
                Ok((b, true)) => {
                    self.pool[idx].last_used = done;
                    b
                }
                Ok((b, false)) => {
                    self.pool.remove(idx);
                    b
                }
                Err(e) => {
                    let dead = self.pool.remove(idx);
                    return Err(ClientError::new(e.0, format!("{}: {}", dead.origin, e.1)));
                }
            };
            if let Some(next) = location {
                redirects += 1;
                if redirects > self.config.max_redirects {
                    return Err(ClientError::new(
                        ErrorKind::Protocol,
                        format!("more than {} redirects", self.config.max_redirects),
                    ));
                }
                if status == StatusCode::SEE_OTHER
                    || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                        && method == Method::POST)
                {
                    if method != Method::HEAD {
                        method = Method::GET;
                    }
                    body = Bytes::new();
                }
                url = Arc::new(next);
                continue;
            }
            let headers_out = if read_headers {
                parts
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            };
            m.timings.total_us = us(done.saturating_duration_since(start));
            return Ok(Response {
                status: status.as_u16(),
                headers: headers_out,
                body: body_bytes,
                body_size,
                final_url: if redirects > 0 {
                    url.to_string()
                } else {
                    String::new()
                },
            });
        }
    }

    /// Looks into or changes the VU's cookie jar, for the scenario.
    pub fn jar(&mut self, op: cookies::JarOp) -> cookies::JarAnswer {
        use cookies::{JarAnswer, JarOp};
        match op {
            JarOp::Get(url) => JarAnswer::Cookies(
                self.cookies
                    .request_values(&url)
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            ),
            JarOp::Set(url, set_cookie) => {
                let stored = self.cookies.set(&set_cookie, &url);
                self.has_cookies |= stored.is_ok();
                JarAnswer::Stored(stored.map_err(|r| r.describe(&set_cookie, &url)))
            }
            JarOp::Clear(url, name) => {
                JarAnswer::Cleared(self.cookies.remove(url.as_ref(), name.as_deref()))
            }
        }
    }

    /// What the next request's head is built from.
    fn heads(&self) -> headers::Heads<'_> {
        headers::Heads {
            config: &self.config,
            jar: self.has_cookies.then_some(&self.cookies),
            read_hint: self.read_hint,
        }
    }

    /// Index of a live connection to the origin of `url`, opening one if needed; and
    /// whether it was reused.
    async fn conn_for(
        &mut self,
        url: &Url,
        m: &mut Measured,
    ) -> Result<(usize, bool), ClientError> {
        if let Some(i) = self.pool.find(url) {
            return Ok((i, true));
        }
        let origin = &Origin::of(url)?;
        let addr = self.resolver.resolve(origin).await?;
        let mut times = ConnectTimes::default();
        // Boxed: the TLS handshake's state is large, and inlining it would make every
        // request's future (which wasmtime boxes per call) that much bigger to move.
        let conn = Box::pin(connect::connect(origin, addr, &self.config.tls, &mut times)).await;
        m.timings.connect_us += times.connect_us;
        m.timings.tls_us += times.tls_us;
        Ok((self.pool.add(conn?), false))
    }
}

/// Fuzzing entry (`tests/fuzz`): an HTTP/1.1 response, parsed and framed as a VU's
/// exchange would.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_h1_response(data: &[u8]) {
    h1::fuzz_response(data);
}

/// What the client's and the VU's unit tests build: a client with the default settings,
/// and a GET that reads its body.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use super::{ClientConfig, Request, SystemResolver, VuClient, tls};

    pub fn client() -> VuClient {
        let tls = tls::client_config(&[] as &[&str], false).unwrap();
        VuClient::new(Arc::new(ClientConfig::new(tls)), Arc::new(SystemResolver))
    }

    pub fn get(url: &str) -> Request {
        Request {
            method: ::http::Method::GET,
            url: Arc::new(url::Url::parse(url).unwrap()),
            headers: Vec::new(),
            body: Default::default(),
            timeout: None,
            read_body: true,
            read_headers: false,
            follow_redirects: true,
        }
    }
}

/// A request built for the protocol of the connection it goes out on.
enum Outgoing {
    H1(h1::RequestHead),
    H2(Box<http::Request<()>>),
}

fn is_redirect(s: StatusCode) -> bool {
    matches!(s.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A response whose head has come: what the rest of the exchange reads and accounts.
struct Answer<'a> {
    parts: http::response::Parts,
    incoming: Incoming<'a>,
    /// The connection it came on, by index into the VU's connections.
    conn: usize,
    /// The connection's byte counters.
    counts: Arc<connect::ByteCounts>,
}

/// A response body still to read (unboxed: one per request, moved once).
#[allow(clippy::large_enum_variant)]
enum Incoming<'a> {
    H1(h1::Exchange<'a, connect::CountingStream>),
    H2(hyper::body::Incoming),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_request_future_stays_small() {
        // Built, and so copied whole, for every request in the VU's task (`vu::exchange`):
        // its large parts stay boxed.
        let tls = tls::client_config(&[] as &[&str], false).unwrap();
        let mut c = VuClient::new(Arc::new(ClientConfig::new(tls)), Arc::new(SystemResolver));
        let req = Request {
            method: Method::GET,
            url: Arc::new(Url::parse("http://127.0.0.1:1/").unwrap()),
            headers: vec![],
            body: Bytes::new(),
            timeout: None,
            read_body: false,
            read_headers: false,
            follow_redirects: true,
        };
        let size = std::mem::size_of_val(&c.send(req));
        assert!(size < 4096, "send future is {size} bytes");
    }
}
