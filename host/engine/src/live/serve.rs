//! `--metrics-listen`: the board served for Prometheus to scrape, on a thread of its
//! own so that scrapes never wait for a busy scenario runtime, nor it for them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::board::Board;
use super::prometheus;

/// How long the end of a run waits, at most, for the final figures to be scraped.
const MAX_LINGER: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Scrapes {
    /// Scrapes answered, and those whose answer held every scenario's final figures.
    served: AtomicU64,
    served_final: AtomicU64,
    /// When the last scrape came, and the time since the one before it.
    timing: Mutex<(Option<Instant>, Option<Duration>)>,
}

impl Scrapes {
    fn served(&self, all_final: bool) {
        let now = Instant::now();
        let mut t = self.timing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = t.0 {
            t.1 = Some(now - last);
        }
        t.0 = Some(now);
        self.served.fetch_add(1, Ordering::Relaxed);
        if all_final {
            self.served_final.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn interval(&self) -> Option<Duration> {
        self.timing.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

/// A running `/metrics` endpoint.
pub struct MetricsServer {
    addr: SocketAddr,
    scrapes: Arc<Scrapes>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How the end of the run went for the scraper.
#[derive(Debug, Clone, PartialEq)]
pub enum Linger {
    /// Nothing scraped during the run: nobody waited for.
    NoScraper,
    /// The final figures were scraped.
    Scraped,
    /// The scraper did not come back for the final figures within this long.
    TimedOut(Duration),
}

impl MetricsServer {
    /// Binds `addr` (an error names it and the reason) and serves `board` there.
    pub fn start(addr: &str, board: Arc<Board>) -> Result<MetricsServer, String> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("--metrics-listen {addr}: cannot listen there: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("--metrics-listen {addr}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("--metrics-listen {addr}: {e}"))?;
        let scrapes = Arc::new(Scrapes::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("--metrics-listen: cannot start its thread: {e}"))?;
        let s = scrapes.clone();
        let thread = std::thread::Builder::new()
            .name("metrics-listen".into())
            .spawn(move || rt.block_on(serve(listener, board, s, stop_rx)))
            .map_err(|e| format!("--metrics-listen: cannot start its thread: {e}"))?;
        Ok(MetricsServer {
            addr: bound,
            scrapes,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How long [`MetricsServer::finish`] would wait: two of the scraper's intervals
    /// and a second, at most a minute; `None` when nothing scraped.
    pub fn linger_limit(&self) -> Option<Duration> {
        if self.scrapes.served.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let every = self.scrapes.interval().unwrap_or(Duration::from_secs(15));
        Some((every * 2 + Duration::from_secs(1)).min(MAX_LINGER))
    }

    /// Called once every scenario has published its final figures: waits until a
    /// scrape has read them (if anything scrapes at all), then stops serving.
    pub fn finish(mut self) -> Linger {
        let outcome = match self.linger_limit() {
            None => Linger::NoScraper,
            Some(limit) => {
                let start = Instant::now();
                loop {
                    if self.scrapes.served_final.load(Ordering::Relaxed) > 0 {
                        break Linger::Scraped;
                    }
                    if start.elapsed() >= limit {
                        break Linger::TimedOut(limit);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        self.shut_down();
        outcome
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

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    board: Arc<Board>,
    scrapes: Arc<Scrapes>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let registry = Arc::new(prometheus::registry(board.clone()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (registry, board, scrapes) = (registry.clone(), board.clone(), scrapes.clone());
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let r = answer(&req, &registry, &board, &scrapes);
                    async move { Ok::<_, std::convert::Infallible>(r) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        }
    }
    // Responses being written (the final scrape's among them) are finished; idle
    // keep-alive connections are closed.
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}

fn answer(
    req: &Request<hyper::body::Incoming>,
    registry: &prometheus_client::registry::Registry,
    board: &Board,
    scrapes: &Scrapes,
) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        let mut r = Response::new(Full::new(Bytes::from_static(
            b"stampede serves its metrics at /metrics\n",
        )));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    // Read before encoding: a scenario finishing in between is caught next time.
    let all_final = board.all_finished();
    let body = prometheus::encode(registry);
    scrapes.served(all_final);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(prometheus::CONTENT_TYPE),
    );
    r
}
