//! `--out KIND=URL`: the board pushed every few seconds and once at the end, on a
//! thread of its own. A push that fails is counted and said at the end; the run goes
//! on (its reports hold every figure anyway).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use url::Url;

use super::board::Board;
use super::families::families;
use super::{otlp, remote_write};

/// How long one push may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SinkKind {
    /// Prometheus remote write 1.0.
    RemoteWrite,
    /// OpenTelemetry metrics over HTTP/protobuf.
    Otlp,
}

/// Where one `--out` pushes.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    pub kind: SinkKind,
    pub url: Url,
}

impl Sink {
    /// `prometheus-rw=URL` or `otlp=URL`; an `otlp` URL without a path gets OTLP's
    /// `/v1/metrics`.
    pub fn parse(spec: &str) -> Result<Sink, String> {
        let (kind, url) = spec.split_once('=').ok_or_else(|| {
            format!("--out {spec:?}: write KIND=URL, e.g. prometheus-rw=http://prometheus:9090/api/v1/write or otlp=http://collector:4318")
        })?;
        let kind = match kind {
            "prometheus-rw" | "experimental-prometheus-rw" => SinkKind::RemoteWrite,
            "otlp" | "opentelemetry" => SinkKind::Otlp,
            other => {
                return Err(format!(
                    "--out {spec:?}: no output named {other:?}; choose prometheus-rw or otlp"
                ));
            }
        };
        let mut url: Url = url
            .parse()
            .map_err(|e| format!("--out {spec:?}: the URL does not parse: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "--out {spec:?}: the URL must be http:// or https:// with a host"
            ));
        }
        if kind == SinkKind::Otlp && url.path() == "/" {
            url.set_path("/v1/metrics");
        }
        Ok(Sink { kind, url })
    }

    fn label(&self) -> String {
        let kind = match self.kind {
            SinkKind::RemoteWrite => "prometheus-rw",
            SinkKind::Otlp => "otlp",
        };
        format!("--out {kind}={}", self.url)
    }
}

#[derive(Debug, Default, Clone)]
struct Tally {
    sent: u64,
    failed: u64,
    last_error: Option<String>,
}

/// The pushing thread.
pub struct Pusher {
    sinks: Vec<Sink>,
    tallies: Arc<Mutex<Vec<Tally>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pusher {
    /// Starts pushing `board` to every sink every `every`.
    pub fn start(sinks: Vec<Sink>, board: Arc<Board>, every: Duration) -> Result<Pusher, String> {
        let tls = crate::client::tls::client_config(&[] as &[&std::path::Path], false)
            .map_err(|e| format!("--out: {e:#}"))?;
        let mut tls = tls;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tls = tokio_rustls::TlsConnector::from(Arc::new(tls));
        let tallies = Arc::new(Mutex::new(vec![Tally::default(); sinks.len()]));
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("--out: cannot start its thread: {e}"))?;
        let (s, t) = (sinks.clone(), tallies.clone());
        let start_ns = now_ns();
        let thread = std::thread::Builder::new()
            .name("metrics-push".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    tick.tick().await;
                    let mut sent: Vec<_> = s.iter().map(|_| Default::default()).collect();
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            _ = tick.tick() => push_all(&s, &board, &t, &tls, start_ns, &mut sent).await,
                        }
                    }
                    // The final figures: every scenario has published its last.
                    push_all(&s, &board, &t, &tls, start_ns, &mut sent).await;
                })
            })
            .map_err(|e| format!("--out: cannot start its thread: {e}"))?;
        Ok(Pusher {
            sinks,
            tallies,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Pushes the final figures and stops; one line per output whose pushes failed.
    pub fn finish(mut self) -> Vec<String> {
        self.shut_down();
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        self.sinks
            .iter()
            .zip(tallies.iter())
            .filter(|(_, t)| t.failed > 0)
            .map(|(s, t)| {
                format!(
                    "{}: {} of {} pushes failed, the last: {}",
                    s.label(),
                    t.failed,
                    t.sent + t.failed,
                    t.last_error.as_deref().unwrap_or("?")
                )
            })
            .collect()
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

async fn push_all(
    sinks: &[Sink],
    board: &Board,
    tallies: &Mutex<Vec<Tally>>,
    tls: &tokio_rustls::TlsConnector,
    start_ns: u64,
    sent: &mut [remote_write::SentExemplars],
) {
    let fams = families(&board.entries());
    let now = now_ns();
    for (i, sink) in sinks.iter().enumerate() {
        let (body, headers): (Vec<u8>, &[(&str, &str)]) = match sink.kind {
            SinkKind::RemoteWrite => (
                remote_write::body(&remote_write::write_request(
                    &fams,
                    (now / 1_000_000) as i64,
                    &mut sent[i],
                )),
                &remote_write::HEADERS,
            ),
            SinkKind::Otlp => (
                otlp::body(&otlp::export_request(&fams, start_ns, now)),
                &[("content-type", otlp::CONTENT_TYPE)],
            ),
        };
        let r = tokio::time::timeout(PUSH_TIMEOUT, post(&sink.url, headers, body.into(), tls))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {}s", PUSH_TIMEOUT.as_secs())));
        let mut t = tallies.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(()) => t[i].sent += 1,
            Err(e) => {
                t[i].failed += 1;
                t[i].last_error = Some(e);
            }
        }
    }
}

/// One POST on a fresh connection; a status other than 2xx is an error with the
/// start of the body.
async fn post(
    url: &Url,
    headers: &[(&str, &str)],
    body: Bytes,
    tls: &tokio_rustls::TlsConnector,
) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let mut req = Request::post(&url[url::Position::BeforePath..])
        .header(hyper::header::HOST, authority(url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    let resp = if url.scheme() == "https" {
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                .map_err(|e| format!("bad host name: {e}"))?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        send(TokioIo::new(stream), req).await?
    } else {
        send(TokioIo::new(tcp), req).await?
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body[..body.len().min(200)])
        .trim()
        .replace('\n', " ");
    Err(format!("HTTP {}: {text}", status.as_u16()))
}

async fn send<T>(
    io: T,
    req: Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    tokio::spawn(conn);
    sender
        .send_request(req)
        .await
        .map_err(|e| format!("HTTP: {e}"))
}

fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_parse_or_say_what_to_write() {
        let s = Sink::parse("prometheus-rw=http://127.0.0.1:9090/api/v1/write").unwrap();
        assert_eq!(s.kind, SinkKind::RemoteWrite);
        let o = Sink::parse("otlp=http://127.0.0.1:4318").unwrap();
        assert_eq!(o.url.path(), "/v1/metrics");
        assert!(
            Sink::parse("influx=http://x")
                .unwrap_err()
                .contains("prometheus-rw or otlp")
        );
        assert!(Sink::parse("http://x").unwrap_err().contains("KIND=URL"));
        assert!(Sink::parse("otlp=ftp://x").unwrap_err().contains("http://"));
    }
}
