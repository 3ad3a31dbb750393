//! What a VU's host imports work on: `VuCtx` lives in the store, and the generated
//! host traits are implemented on it (borrowed through [`VuView`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use url::Url;
use wasmtime::component::{HasData, ResourceTable};
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::exchange::Exchange;
use super::output::{GuestOutput, LogLimiter};
use crate::bindings::{http, vu};
use crate::client::{ClientConfig, ClientError, Measured, Request, Resolver, Response, VuClient};
use crate::metrics::event::{RequestSample, Verdict};
use crate::metrics::names::LocalNames;
use crate::metrics::tags::Method;
use crate::metrics::{ErrorKind, Event, NameId, Recorder};

/// Host state of one VU (one store, one instance).
pub struct VuCtx {
    pub id: u32,
    pub iteration: u64,
    pub scenario: Arc<str>,
    pub env: Arc<HashMap<String, String>>,
    pub target: Option<Arc<Url>>,
    /// Where `http.send` hands a request to the VU's task, which sends it on the VU's
    /// client (see `exchange`).
    pub(super) exchange: Arc<Exchange>,
    client_config: Arc<ClientConfig>,
    resolver: Arc<dyn Resolver>,
    pub recorder: Recorder,
    pub names: LocalNames,
    /// The run's tag sets (`metrics.set-tags`), apart from its names.
    pub(super) tag_sets: LocalNames,
    pub run_start: Instant,
    pub logs: Arc<LogLimiter>,
    /// Open model: when the current iteration was scheduled to start. Its first request
    /// is timed from then, so time spent waiting on a stalled target counts.
    pub scheduled_start: Option<Instant>,
    /// The guest's last stderr line, quoted in trap messages.
    pub guest_stderr: Arc<Mutex<String>>,
    /// Reused to build default request names without allocating each time.
    name_buf: String,
    /// Reused to read an import's strings out of the guest (see `calls`).
    pub(super) text: String,
    /// The last URLs the scenario sent, as written and as resolved.
    urls: Vec<(Box<str>, Arc<Url>)>,
    urls_next: usize,
    /// Deferred requests (`http.send-deferred`) not settled yet, latest last.
    pending: Vec<RequestSample>,
    /// The scenario asked not to follow redirects (`http.follow-redirects`).
    pub(super) no_redirects: bool,
    /// The tags its next requests carry (`metrics.set-tags`), interned.
    pub(super) tags: Option<NameId>,
    /// Bytes of response bodies one batch may hand back: half the instance's memory
    /// limit (the guest needs the rest to take them).
    pub(super) body_budget: usize,
    /// What the scenario scheduled next (`vu.schedule`), taken by the executor.
    pub next: Option<vu::Next>,
    /// What the run's `setup` returned, once it has run.
    pub setup_data: Arc<std::sync::OnceLock<Option<Arc<str>>>>,
    /// Trace context on requests (`--trace-context`).
    tracer: super::trace::Tracer,
    /// The run's test data (`--data`) and shared arrays.
    pub data: super::data::DataAccess,
}

/// URLs a VU keeps resolved.
const URL_CACHE: usize = 8;

/// Deferred requests a VU may leave unsettled; past it the oldest is recorded by its
/// status (a guest that never settles cannot grow the host's memory).
const MAX_PENDING: usize = 64;

/// The store's data: WASI (no files, no sockets, no env) beside our own context.
pub struct VuState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub vu: VuCtx,
}

impl VuState {
    /// Fails only when the data directory cannot be opened for this VU (as when the
    /// process is out of file descriptors: each VU holds one).
    pub fn new(mut vu: VuCtx, memory_cap: usize) -> Result<Self, String> {
        vu.body_budget = memory_cap / 2;
        let output = |stream: &str, keep: Option<Arc<Mutex<String>>>| {
            GuestOutput::new(
                format!("{} vu {} {stream}", vu.scenario, vu.id).into(),
                vu.logs.clone(),
                vu.run_start,
                keep,
            )
        };
        let mut wasi = WasiCtx::builder();
        // No args, no sockets; output goes to the run's log. The environment is the
        // run's `--env` values, never the host's, so scenarios read them as they would
        // anywhere (`os.getenv`, `process.env`, `std::env::var`). The one directory is
        // the run's data, read-only (checked when the run started).
        if let Some(set) = &vu.data.set {
            let root = set.dir().root();
            wasi.preopened_dir(root, crate::data::MOUNT, wasmtime_wasi::FsPerms::ReadOnly)
                .map_err(|e| {
                    format!(
                        "cannot open the data directory {} for VU {}: {e}",
                        root.display(),
                        vu.id
                    )
                })?;
        }
        wasi.allow_tcp(false)
            .allow_udp(false)
            .stdout(output("stdout", None))
            .stderr(output("stderr", Some(vu.guest_stderr.clone())));
        for (k, v) in vu.env.iter() {
            wasi.env(k, v);
        }
        let wasi = wasi.build();
        Ok(VuState {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_cap)
                .trap_on_grow_failure(true)
                .build(),
            vu,
        })
    }
}

impl WasiView for VuState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `HasData` marker: host traits see only `&mut VuCtx`.
pub struct VuView;

impl HasData for VuView {
    type Data<'a> = &'a mut VuCtx;
}

impl VuCtx {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u32,
        scenario: Arc<str>,
        env: Arc<HashMap<String, String>>,
        target: Option<Arc<Url>>,
        client_config: Arc<ClientConfig>,
        resolver: Arc<dyn Resolver>,
        recorder: Recorder,
        names: LocalNames,
        tag_sets: LocalNames,
        run_start: Instant,
        logs: Arc<LogLimiter>,
    ) -> Self {
        VuCtx {
            id,
            iteration: 0,
            scenario,
            env,
            target,
            exchange: Arc::default(),
            resolver,
            recorder,
            names,
            tag_sets,
            run_start,
            logs,
            scheduled_start: None,
            guest_stderr: Arc::new(Mutex::new(String::new())),
            name_buf: String::new(),
            text: String::new(),
            urls: Vec::new(),
            urls_next: 0,
            pending: Vec::new(),
            no_redirects: false,
            tags: None,
            body_budget: usize::MAX,
            next: None,
            setup_data: Arc::default(),
            tracer: super::trace::Tracer::new(client_config.trace_context),
            data: Default::default(),
            client_config,
        }
    }

    /// The VU's HTTP client: its connections and cookies live as long as its instance.
    pub(super) fn new_client(&self) -> VuClient {
        VuClient::new(self.client_config.clone(), self.resolver.clone())
    }

    pub fn now_ms(&self) -> u32 {
        self.ms_at(Instant::now())
    }

    /// Milliseconds from the run's start to `t`.
    pub fn ms_at(&self, t: Instant) -> u32 {
        t.saturating_duration_since(self.run_start).as_millis() as u32
    }

    /// [`Self::parse_url`] through a small cache: a scenario requests the same few URLs
    /// over and over, and sharing one is cheaper than parsing and joining again.
    fn resolve_url(&mut self, url: &str) -> Result<Arc<Url>, ClientError> {
        if let Some((_, u)) = self.urls.iter().find(|(raw, _)| &**raw == url) {
            return Ok(u.clone());
        }
        let parsed = Arc::new(self.parse_url(url)?);
        if self.urls.len() < URL_CACHE {
            self.urls.push((url.into(), parsed.clone()));
        } else {
            // Round robin: a scenario with many distinct URLs keeps the cache fresh.
            let slot = self.urls_next % URL_CACHE;
            self.urls[slot] = (url.into(), parsed.clone());
            self.urls_next = slot + 1;
        }
        Ok(parsed)
    }

    pub(super) fn parse_url(&self, url: &str) -> Result<Url, ClientError> {
        let bad = |e: &dyn std::fmt::Display| {
            ClientError::new(ErrorKind::InvalidUrl, format!("{url:?}: {e}"))
        };
        // The common case, a path against the target, skips a failing absolute parse.
        if url.starts_with('/')
            && !url.starts_with("//")
            && let Some(base) = &self.target
        {
            return join_target(base, url).map_err(|e| bad(&e));
        }
        match Url::parse(url) {
            Ok(u) => Ok(u),
            Err(url::ParseError::RelativeUrlWithoutBase) => match &self.target {
                Some(base) => join_target(base, url).map_err(|e| bad(&e)),
                None => Err(bad(
                    &"a relative URL, and the run has no --target to resolve it against",
                )),
            },
            Err(e) => Err(bad(&e)),
        }
    }

    /// The request's metric name: the scenario's, or the method and the URL's path.
    fn request_name(
        &mut self,
        name: Option<&str>,
        method: Option<&::http::Method>,
        raw_method: &str,
        url: Option<&Url>,
        raw: &str,
    ) -> u32 {
        if let Some(n) = name {
            return self.names.intern(n);
        }
        self.name_buf.clear();
        let path = url.map(|u| u.path()).unwrap_or(raw);
        let _ = match method {
            Some(m) => write!(self.name_buf, "{} {path}", m.as_str()),
            None => write!(self.name_buf, "{} {path}", raw_method.to_ascii_uppercase()),
        };
        let buf = std::mem::take(&mut self.name_buf);
        let id = self.names.intern(&buf);
        self.name_buf = buf;
        id
    }
}

/// The method, uppercased (only when needed: a copy per request otherwise).
fn parse_method(raw: &str) -> Result<::http::Method, ClientError> {
    let upper;
    let bytes = if raw.bytes().any(|b| b.is_ascii_lowercase()) {
        upper = raw.to_ascii_uppercase();
        upper.as_bytes()
    } else {
        raw.as_bytes()
    };
    ::http::Method::from_bytes(bytes)
        .map_err(|_| ClientError::new(ErrorKind::InvalidUrl, format!("invalid method {raw:?}")))
}

pub(super) fn to_wit_error(e: ClientError) -> http::HttpError {
    use http::HttpError as W;
    match e.kind {
        ErrorKind::InvalidUrl => W::InvalidUrl(e.message),
        ErrorKind::Denied => W::Denied(e.message),
        ErrorKind::Dns => W::Dns(e.message),
        ErrorKind::Connect => W::Connect(e.message),
        ErrorKind::Tls => W::Tls(e.message),
        ErrorKind::Timeout => W::Timeout,
        ErrorKind::Protocol => W::Protocol(e.message),
        ErrorKind::TooLarge => W::TooLarge(e.message),
    }
}

/// A request as the scenario passed it, its strings read out of the guest's memory.
pub(super) struct Outbound<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub name: Option<&'a str>,
    pub headers: Vec<(String, String)>,
    /// The body, or its length when it was over the limit (and not copied).
    pub body: Result<Bytes, usize>,
    /// Why the request cannot go out as the guest gave it (its headers).
    pub refused: Option<String>,
    pub timeout_ms: Option<u32>,
    pub read: http::ReadFlags,
}

/// A request ready to go, or why it cannot; and what is recorded of it either way.
pub(super) type PreparedRequest = (Prepared, Result<Request, ClientError>);

/// What the host knows of a request before it goes out.
pub(super) struct Prepared {
    name: u32,
    method: Method,
    at_ms: u32,
    lag_us: u64,
    read_headers: bool,
    read_body: bool,
    trace: Option<crate::metrics::event::TraceIds>,
    /// The VU's tags when it went out (a batch's requests each have their own).
    tags: Option<NameId>,
}

// The work around the exchange is in plain functions, called by the `http.send` host call
// (`calls`) before and after its one await: wasmtime runs that call on the VU's fiber
// stack, whose touched pages stay resident, so its frames are kept small (see the idle
// memory in `just bench`).
impl VuCtx {
    /// The largest request body this VU may send.
    pub(super) fn max_body(&self) -> usize {
        self.client_config.max_body
    }

    #[inline(never)]
    pub(super) fn prepare(&mut self, mut req: Outbound<'_>, now: Instant) -> PreparedRequest {
        let lag_us = self
            .scheduled_start
            .take()
            .map(|at| now.saturating_duration_since(at).as_micros() as u64)
            .unwrap_or(0);
        let at_ms = self.ms_at(now).saturating_sub((lag_us / 1000) as u32);
        let url = self.resolve_url(req.url);
        let method = parse_method(req.method);
        let name = self.request_name(
            req.name,
            method.as_ref().ok(),
            req.method,
            url.as_deref().ok(),
            req.url,
        );
        let trace = self.tracer.ids_for(self.iteration, &mut req.headers);
        let read_body = req.read.contains(http::ReadFlags::BODY);
        let read_headers = req.read.contains(http::ReadFlags::HEADERS);
        let max = self.client_config.max_body;
        let body = req.body.map_err(|len| {
            ClientError::new(
                ErrorKind::TooLarge,
                format!(
                    "request body of {len} bytes is over the {max}-byte limit (--max-body-mib)"
                ),
            )
        });
        let headers_ok = match req.refused {
            Some(why) => Err(ClientError::new(ErrorKind::TooLarge, why)),
            None => Ok(()),
        };
        let request = headers_ok
            .and(body)
            .and_then(|b| url.map(|u| (u, b)))
            .and_then(|(u, b)| method.map(|m| (u, m, b)))
            .map(|(url, method, body)| Request {
                method,
                url,
                headers: req.headers,
                body,
                timeout: req.timeout_ms.map(|ms| Duration::from_millis(ms as u64)),
                read_body,
                read_headers,
                follow_redirects: !self.no_redirects,
            });
        (
            Prepared {
                name,
                method: Method::of(req.method),
                at_ms,
                lag_us,
                read_headers,
                read_body,
                trace,
                tags: self.tags,
            },
            request,
        )
    }

    /// Records the request and answers the scenario.
    #[inline(never)]
    pub(super) fn finish(
        &mut self,
        p: &Prepared,
        result: Result<Response, ClientError>,
        measured: Measured,
        deferred: bool,
    ) -> Result<http::HttpResponse, http::HttpError> {
        let t = measured.timings;
        let sample = RequestSample {
            name: p.name,
            method: p.method,
            tags: p.tags,
            status: result.as_ref().map(|r| r.status).unwrap_or(0),
            error: result.as_ref().err().map(|e| e.kind),
            at_ms: p.at_ms,
            duration_us: t.total_us + p.lag_us,
            waiting_us: t.wait_us,
            connecting_us: t.connect_us,
            tls_us: t.tls_us,
            bytes_sent: measured.bytes_sent,
            bytes_received: measured.bytes_received,
            verdict: Verdict::ByStatus,
            trace: p.trace,
        };
        if deferred {
            if self.pending.len() == MAX_PENDING {
                let oldest = self.pending.remove(0);
                self.recorder.record(Event::Request(oldest));
            }
            self.pending.push(sample);
        } else {
            self.recorder.record(Event::Request(sample));
        }
        match result {
            Ok(r) => Ok(http::HttpResponse {
                status: r.status,
                headers: p.read_headers.then_some(r.headers),
                body: p.read_body.then_some(r.body),
                body_size: r.body_size,
                final_url: (!r.final_url.is_empty()).then_some(r.final_url),
                timings: http::Timings {
                    connect_us: t.connect_us,
                    tls_us: t.tls_us,
                    send_us: t.send_us,
                    wait_us: t.wait_us,
                    receive_us: t.receive_us,
                    total_us: t.total_us,
                },
            }),
            Err(e) => Err(to_wit_error(e)),
        }
    }
}

impl VuCtx {
    /// The `http.settle` import: judges the latest deferred request.
    pub(super) fn settle(&mut self, ok: bool, message: Option<&str>) -> bool {
        let Some(mut sample) = self.pending.pop() else {
            return false;
        };
        sample.verdict = if ok { Verdict::Passed } else { Verdict::Failed };
        self.recorder.record(Event::Request(sample));
        if !ok {
            let message = crate::metrics::names::clip(
                message.unwrap_or("failed by the scenario"),
                crate::metrics::names::MAX_MESSAGE_BYTES,
            );
            self.recorder.record(Event::RequestFailure {
                name: sample.name,
                message: message.into(),
            });
        }
        true
    }

    /// The `http.follow-redirects` import.
    pub(super) fn follow_redirects(&mut self, follow: bool) {
        self.no_redirects = !follow;
    }

    /// The `http.trace-context` import.
    pub(super) fn trace_context(&mut self, mode: http::TraceMode) {
        match mode {
            http::TraceMode::Run => self.tracer.reset(),
            http::TraceMode::Sampled => self.tracer.set(Some(true)),
            http::TraceMode::Unsampled => self.tracer.set(Some(false)),
            http::TraceMode::Off => self.tracer.set(None),
        }
    }

    /// At the end of a lifecycle call: records the deferred requests it left unsettled,
    /// by their status.
    pub(super) fn settle_pending(&mut self) {
        // Per call, like the requests they govern.
        self.no_redirects = false;
        self.tags = None;
        self.tracer.reset();
        for sample in self.pending.drain(..) {
            self.recorder.record(Event::Request(sample));
        }
    }

    /// The `checks.check` import.
    pub(super) fn check(&mut self, name: &str, ok: bool) {
        let name = self.names.intern(name);
        self.recorder.record(Event::Check {
            name,
            ok,
            tags: self.tags,
        });
    }
}

/// A relative request URL against the target. The target's own path is a prefix, as
/// Locust joins its host and a path: with `--target http://h/base`, `/api/x` and
/// `api/x` both go to `http://h/base/api/x` (a plain URL join would drop `/base`).
pub fn join_target(base: &Url, url: &str) -> Result<Url, url::ParseError> {
    let prefix = base.path().trim_end_matches('/');
    if prefix.is_empty() || url.starts_with("//") {
        return base.join(url);
    }
    let sep = if url.starts_with('/') || url.starts_with('?') {
        ""
    } else {
        "/"
    };
    base.join(&format!("{prefix}{sep}{url}"))
}

#[cfg(test)]
mod tests {
    use super::join_target;

    #[test]
    fn a_target_path_prefixes_relative_urls() {
        let j = |base: &str, url: &str| {
            join_target(&base.parse().unwrap(), url)
                .unwrap()
                .to_string()
        };
        assert_eq!(j("http://h:8/", "/api/x"), "http://h:8/api/x");
        assert_eq!(j("http://h:8", "api/x?a=1"), "http://h:8/api/x?a=1");
        assert_eq!(j("http://h:8/base", "/api/x"), "http://h:8/base/api/x");
        assert_eq!(j("http://h:8/base/", "/api/x"), "http://h:8/base/api/x");
        assert_eq!(j("http://h:8/base/", "api/x"), "http://h:8/base/api/x");
        assert_eq!(j("http://h:8/a/b", "/c"), "http://h:8/a/b/c");
        // A scheme-relative URL names another host: no prefix.
        assert_eq!(j("http://h:8/base", "//other/x"), "http://other/x");
    }
}
