//! The per-VU HTTP client: the VU's own keep-alive connections (one per origin, as a
//! real client holds them), its cookie jar, redirects and content codings, with every phase timed.

mod body;
mod connect;
pub mod cookies;
mod error;
mod h1;
pub mod policy;
pub mod tls;

use std::fmt;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio_rustls::TlsConnector;
use url::Url;

use crate::timeout::{Elapsed, Timeout};
use body::{BodyError, BodyLimit, Coding, Out};
use connect::{Conn, ConnectTimes, Sender};
pub use error::ErrorKind;

/// Connections a VU keeps open at once (one per origin); the oldest is closed past this.
const MAX_CONNS_PER_VU: usize = 8;

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
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(url: &Url) -> Result<Origin, ClientError> {
        let (https, host, port) = Origin::parts(url)?;
        Ok(Origin {
            https,
            host: host.to_string(),
            port,
        })
    }

    /// Whether `url` is on this origin; allocates nothing, unlike [`Origin::of`].
    pub fn is(&self, url: &Url) -> bool {
        Origin::parts(url).is_ok_and(|(https, host, port)| {
            https == self.https && port == self.port && host == self.host
        })
    }

    /// Whether `url` is https, its host (bare: IPv6 literals come bracketed from `url`,
    /// name resolution wants them without) and its port.
    fn parts(url: &Url) -> Result<(bool, &str, u16), ClientError> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            s => {
                return Err(ClientError::new(
                    ErrorKind::InvalidUrl,
                    format!("{url}: scheme {s:?} is not http or https"),
                ));
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| ClientError::new(ErrorKind::InvalidUrl, format!("{url}: no host")))?;
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok((
            https,
            host.trim_start_matches('[').trim_end_matches(']'),
            port,
        ))
    }
}

impl Origin {
    /// `host:port`, the port always written (as allowlist entries name them).
    pub fn host_port_always(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `host[:port]` as a Host header carries it (default ports omitted).
    pub fn host_port(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ClientError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
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

/// Resolves a host and port to an address the VU may connect to. The sandbox's network
/// policy is one; tests can substitute their own.
/// What a [`Resolver`] returns: the address to connect to, or why not.
pub type ResolveFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<std::net::SocketAddr, ClientError>> + Send + 'a>>;

pub trait Resolver: Send + Sync {
    fn resolve<'a>(&'a self, origin: &'a Origin) -> ResolveFuture<'a>;
}

/// The system resolver, no policy.
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(&'a self, origin: &'a Origin) -> ResolveFuture<'a> {
        Box::pin(async move {
            tokio::net::lookup_host((origin.host.as_str(), origin.port))
                .await
                .map_err(|e| ClientError::new(ErrorKind::Dns, format!("{}: {e}", origin.host)))?
                .next()
                .ok_or_else(|| {
                    ClientError::new(ErrorKind::Dns, format!("{}: no address", origin.host))
                })
        })
    }
}

/// `--resolve HOST:PORT:ADDR` (curl's form): fixed answers first, then `inner`.
pub struct FixedResolver {
    pub fixed: Vec<(String, u16, std::net::IpAddr)>,
    pub inner: Arc<dyn Resolver>,
}

impl FixedResolver {
    /// Parses one `--resolve` entry.
    pub fn parse(text: &str) -> Result<(String, u16, std::net::IpAddr), String> {
        let err =
            || format!("--resolve {text:?}: write HOST:PORT:ADDRESS, e.g. api.test:443:10.0.0.5");
        let (host, rest) = text.split_once(':').ok_or_else(err)?;
        let (port, addr) = rest.split_once(':').ok_or_else(err)?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        Ok((
            host.to_ascii_lowercase(),
            port.parse().map_err(|_| err())?,
            addr.parse().map_err(|_| err())?,
        ))
    }
}

impl Resolver for FixedResolver {
    fn resolve<'a>(&'a self, origin: &'a Origin) -> ResolveFuture<'a> {
        let host = origin.host.to_ascii_lowercase();
        match self
            .fixed
            .iter()
            .find(|(h, p, _)| *h == host && *p == origin.port)
        {
            Some((_, port, ip)) => {
                let addr = std::net::SocketAddr::new(*ip, *port);
                Box::pin(async move { Ok(addr) })
            }
            None => self.inner.resolve(origin),
        }
    }
}

pub struct VuClient {
    config: Arc<ClientConfig>,
    resolver: Arc<dyn Resolver>,
    conns: Vec<Conn>,
    cookies: cookies::Jar,
    has_cookies: bool,
    /// Size of the first read of a response: the last response's size, so that small
    /// responses take a small buffer and large ones few reads.
    read_hint: usize,
    /// The request timeout's timer, kept from one request to the next.
    timer: Timeout,
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
            conns: Vec::new(),
            cookies,
            has_cookies: false,
            read_hint: h1::MIN_FIRST_READ,
            timer: Timeout::default(),
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
                self.conns.clear();
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
            ..
        } = req;
        let mut redirects = 0;
        loop {
            let mut retried = false;
            let response = loop {
                let (idx, reused) = self.conn_for(&url, m).await?;
                let request = match &self.conns[idx].sender {
                    Sender::H1(_) => Outgoing::H1(self.h1_head(
                        &method,
                        &url,
                        &headers,
                        body.len(),
                        &self.conns[idx].host_header,
                    )?),
                    Sender::H2(_) => {
                        Outgoing::H2(Box::new(self.h2_request(&method, &url, &headers)?))
                    }
                };
                let conn = &mut self.conns[idx];
                let counts = conn.counts.clone();
                let (sent0, recv0) = (
                    counts.sent.load(Ordering::Relaxed),
                    counts.received.load(Ordering::Relaxed),
                );
                let failure = match (&mut conn.sender, request) {
                    (Sender::H1(io), Outgoing::H1(request)) => {
                        match h1::send_boxed(io, request, &body, read_headers, &mut m.timings).await
                        {
                            Ok((parts, ex)) => {
                                break (parts, Incoming::H1(ex), idx, counts, sent0, recv0);
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
                        let t_send = Instant::now();
                        let request = request.map(|()| Full::new(body.clone()));
                        // Boxed, as the HTTP/2 parts below and in `Outgoing`: kept out of
                        // every request's future, which an HTTP/1 exchange keeps small
                        // (moved into a fresh box per request, and cache-resident).
                        let result = Box::pin(s.try_send_request(request)).await;
                        m.timings.wait_us += us(t_send.elapsed());
                        match result {
                            Ok(resp) => {
                                let (parts, incoming) = resp.into_parts();
                                break (parts, Incoming::H2(incoming), idx, counts, sent0, recv0);
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
                let dead = self.conns.swap_remove(idx);
                if retry && !retried {
                    retried = true;
                    continue;
                }
                return Err(ClientError::new(
                    ErrorKind::Protocol,
                    format!("{}: {message}", dead.origin),
                ));
            };
            let (parts, incoming, idx, counts, sent0, recv0) = response;
            let status = parts.status;
            if self.has_cookies || parts.headers.contains_key(header::SET_COOKIE) {
                for v in parts.headers.get_all(header::SET_COOKIE) {
                    if let Ok(v) = v.to_str() {
                        self.cookies.set(v, &url);
                        self.has_cookies = true;
                    }
                }
            }
            let location = if is_redirect(status) {
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
                Incoming::H2(body) => Box::pin(read_h2_body(body, &mut out)).await.map(|()| true),
            };
            let body_res = reusable.and_then(|r| out.finish().map(|b| (b, r)));
            let done = Instant::now();
            m.timings.receive_us += us(done - t_recv);
            m.bytes_sent += counts.sent.load(Ordering::Relaxed) - sent0;
            let received = counts.received.load(Ordering::Relaxed) - recv0;
            m.bytes_received += received;
            self.read_hint = h1::first_read_for(received);
            let (body_bytes, body_size) = match body_res {
                Ok((b, true)) => {
                    self.conns[idx].last_used = done;
                    b
                }
                Ok((b, false)) => {
                    self.conns.swap_remove(idx);
                    b
                }
                Err(e) => {
                    let dead = self.conns.swap_remove(idx);
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

    /// Index of a live connection to the origin of `url`, opening one if needed; and
    /// whether it was reused.
    async fn conn_for(
        &mut self,
        url: &Url,
        m: &mut Measured,
    ) -> Result<(usize, bool), ClientError> {
        if let Some(i) = self.conns.iter().position(|c| c.origin.is(url)) {
            if self.conns[i].usable() {
                return Ok((i, true));
            }
            self.conns.swap_remove(i);
        }
        let origin = &Origin::of(url)?;
        let addr = self.resolver.resolve(origin).await?;
        let mut times = ConnectTimes::default();
        // Boxed: the TLS handshake's state is large, and inlining it would make every
        // request's future (which wasmtime boxes per call) that much bigger to move.
        let conn = Box::pin(connect::connect(origin, addr, &self.config.tls, &mut times)).await;
        m.timings.connect_us += times.connect_us;
        m.timings.tls_us += times.tls_us;
        let conn = conn?;
        if self.conns.len() >= MAX_CONNS_PER_VU {
            self.conns.remove(0);
        }
        self.conns.push(conn);
        Ok((self.conns.len() - 1, false))
    }

    /// An HTTP/1.1 request head, ready for the wire.
    fn h1_head(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(String, String)],
        body_len: usize,
        host: &HeaderValue,
    ) -> Result<h1::RequestHead, ClientError> {
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        // The buffer goes on to take the response: sized for that as well.
        let mut head = h1::RequestHead::new(method, target, self.read_hint);
        // A length of the scenario's own must be the body's: another would make the
        // server read part of the body as a next request on this connection.
        let mut lengths = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        if let Some((_, v)) = lengths.next() {
            let v = v.trim();
            let matches = v.bytes().all(|b| b.is_ascii_digit()) && v.parse() == Ok(body_len);
            if !matches || lengths.next().is_some() {
                return Err(ClientError::new(
                    ErrorKind::InvalidUrl,
                    format!(
                        "content-length {v:?} set by the scenario does not match the body's {body_len} bytes (leave it out: the host sets it)"
                    ),
                ));
            }
        }
        // HTTP/1 bodies go with their length (HTTP/2 frames carry their own).
        let wants_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        let length = (body_len > 0 || wants_body).then_some(body_len);
        self.fields(
            url,
            headers,
            Some(host),
            length,
            &mut |name, value, checked| {
                if checked == Checked::Yes {
                    head.checked_field(name, value);
                    return Ok(());
                }
                head.field(name, value)
                    .map_err(|what| bad_field(what, name, value))
            },
        )?;
        Ok(head)
    }

    /// An HTTP/2 request (absolute URI: hyper sends it as :authority and :path).
    fn h2_request(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(String, String)],
    ) -> Result<http::Request<()>, ClientError> {
        let mut b = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str());
        let hdrs = b.headers_mut().expect("fresh builder");
        self.fields(url, headers, None, None, &mut |name, value, _| {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad_field("header name", name, value))?;
            let v = HeaderValue::from_bytes(value)
                .map_err(|_| bad_field("header value", name, value))?;
            hdrs.append(n, v);
            Ok(())
        })?;
        b.body(())
            .map_err(|e| ClientError::new(ErrorKind::InvalidUrl, format!("invalid request: {e}")))
    }

    /// Hands `emit` the request's header fields: the scenario's own, then those it did
    /// not set itself (Host when given, Content-Length when given, User-Agent,
    /// Accept-Encoding), then the cookie jar's merged with any Cookie the scenario set.
    fn fields(
        &self,
        url: &Url,
        headers: &[(String, String)],
        host: Option<&HeaderValue>,
        length: Option<usize>,
        emit: &mut EmitField<'_>,
    ) -> Result<(), ClientError> {
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let jar = if self.has_cookies {
            let mut jar = String::new();
            for (n, v) in self.cookies.request_values(url) {
                if !jar.is_empty() {
                    jar.push_str("; ");
                }
                jar.push_str(n);
                jar.push('=');
                jar.push_str(v);
            }
            Some(jar).filter(|j| !j.is_empty())
        } else {
            None
        };
        for (k, v) in headers {
            if jar.is_none() || !k.eq_ignore_ascii_case("cookie") {
                emit(k, v.as_bytes(), Checked::No)?;
            }
        }
        if let Some(host) = host
            && !has("host")
        {
            emit("host", host.as_bytes(), Checked::Yes)?;
        }
        if let Some(n) = length
            && !has("content-length")
            && !has("transfer-encoding")
        {
            // Formatted on the stack: this runs for every request with a body.
            let mut digits = [0u8; 20];
            let mut w = &mut digits[..];
            let _ = write!(w, "{n}");
            let len = 20 - w.len();
            emit("content-length", &digits[..len], Checked::Yes)?;
        }
        if !has("user-agent") {
            emit(
                "user-agent",
                self.config.user_agent.as_bytes(),
                Checked::Yes,
            )?;
        }
        if !has("accept-encoding") {
            emit("accept-encoding", body::ACCEPT_ENCODING, Checked::Yes)?;
        }
        if let Some(jar) = jar {
            let mut all = String::new();
            for (_, v) in headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            {
                all.push_str(v);
                all.push_str("; ");
            }
            all.push_str(&jar);
            emit("cookie", all.as_bytes(), Checked::No)?;
        }
        Ok(())
    }
}

/// A header field the scenario set that cannot go on the wire.
fn bad_field(what: &str, name: &str, value: &[u8]) -> ClientError {
    let shown = String::from_utf8_lossy(&value[..value.len().min(60)]);
    ClientError::new(
        ErrorKind::InvalidUrl,
        format!("invalid {what}: {name:?}: {shown:?}"),
    )
}

/// Receives one header field (name, value) of a request being built.
/// Takes a field's name and value, and whether they still need checking: those the
/// host made from values it has checked already (host, length, defaults) do not.
type EmitField<'a> = dyn FnMut(&str, &[u8], Checked) -> Result<(), ClientError> + 'a;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Checked {
    Yes,
    No,
}

/// A request built for the protocol of the connection it goes out on.
enum Outgoing {
    H1(h1::RequestHead),
    H2(Box<http::Request<()>>),
}

fn is_redirect(s: StatusCode) -> bool {
    matches!(s.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A response body still to read (unboxed: one per request, moved once).
#[allow(clippy::large_enum_variant)]
enum Incoming<'a> {
    H1(h1::Exchange<'a>),
    H2(hyper::body::Incoming),
}

/// Reads an HTTP/2 body to its end into `out`.
async fn read_h2_body(mut body: hyper::body::Incoming, out: &mut Out) -> Result<(), BodyError> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| (ErrorKind::Protocol, e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            out.feed(&data)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_add_defaults_and_merge_cookies() {
        let tls = tls::client_config(&[] as &[&str], false).unwrap();
        let mut c = VuClient::new(Arc::new(ClientConfig::new(tls)), Arc::new(SystemResolver));
        let url = Url::parse("http://127.0.0.1:8080/p?q=1").unwrap();
        let host = HeaderValue::from_static("127.0.0.1:8080");
        let text = |c: &VuClient, headers: &[(&str, &str)], len: usize, method: Method| {
            let headers: Vec<_> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            c.h1_head(&method, &url, &headers, len, &host)
                .map(|h| String::from_utf8(h.into_bytes()).unwrap())
        };
        let ua = c.config.user_agent.to_str().unwrap().to_string();
        assert_eq!(
            text(&c, &[("x-a", "1")], 0, Method::GET).unwrap(),
            format!(
                "GET /p?q=1 HTTP/1.1\r\nx-a: 1\r\nhost: 127.0.0.1:8080\r\nuser-agent: {ua}\r\naccept-encoding: gzip, deflate, br, zstd\r\n"
            )
        );
        // The scenario's own Host, User-Agent and Accept-Encoding win; a POST has a length.
        let own = [
            ("Host", "api.test"),
            ("User-Agent", "me"),
            ("Accept-Encoding", "br"),
        ];
        assert_eq!(
            text(&c, &own, 0, Method::POST).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nHost: api.test\r\nUser-Agent: me\r\nAccept-Encoding: br\r\ncontent-length: 0\r\n"
        );
        // The jar's cookies join the scenario's Cookie in one field.
        c.cookies.set("sid=42; Path=/", &url);
        c.has_cookies = true;
        let t = text(&c, &[("Cookie", "a=1")], 3, Method::PUT).unwrap();
        assert!(t.contains("content-length: 3\r\n"), "{t}");
        assert!(t.ends_with("cookie: a=1; sid=42\r\n"), "{t}");
        assert_eq!(t.matches("ookie").count(), 1, "{t}");
        // A length of the scenario's own must be the body's.
        assert!(text(&c, &[("Content-Length", "3")], 3, Method::POST).is_ok());
        for bad in ["2", "+3", "3, 3"] {
            let e = text(&c, &[("Content-Length", bad)], 3, Method::POST).unwrap_err();
            assert!(
                e.message.contains("does not match the body"),
                "{}",
                e.message
            );
        }
        let two = [("Content-Length", "3"), ("content-length", "3")];
        assert!(text(&c, &two, 3, Method::POST).is_err());
        // A field that would break the message is refused, naming it.
        let e = text(&c, &[("x-a", "1\r\nx-b: 2")], 0, Method::GET).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidUrl);
        assert!(
            e.message.contains("invalid header value: \"x-a\""),
            "{}",
            e.message
        );
    }

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
        };
        let size = std::mem::size_of_val(&c.send(req));
        assert!(size < 4096, "send future is {size} bytes");
    }
}
