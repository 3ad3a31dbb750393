//! The demo shop: a small but honest staging API served in-process, for `stampede demo`,
//! the README's first command, and the test suite.

mod api;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use api::{DemoStats, Shop};

/// The smoke scenario, built from `plugins/smoke` by the build script.
pub static SMOKE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/smoke.wasm"));

#[derive(Args, Debug, Clone)]
pub struct DemoTargetArgs {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Added latency for a route, e.g. `--slow 'POST /api/v1/auth/login=300ms'` (repeatable).
    #[arg(long, value_name = "ROUTE=DURATION")]
    pub slow: Vec<String>,
    /// Error rate (0..1) for a route: it answers 503, e.g. `--fail 'GET /api/v1/users/me=0.1'`.
    #[arg(long, value_name = "ROUTE=RATE")]
    pub fail: Vec<String>,
}

/// Degradations a demo can apply, to make a release look worse.
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    /// (route, added latency): a route is "METHOD /path", with `{param}` segments as
    /// the API lists them or a literal path.
    pub slow: Vec<(String, Duration)>,
    pub fail: Vec<(String, f64)>,
}

impl Knobs {
    pub fn parse(slow: &[String], fail: &[String]) -> Result<Knobs> {
        let mut k = Knobs::default();
        for s in slow {
            let (route, d) = split_route(s, "--slow")?;
            let d =
                crate::cli::parse_duration(d).map_err(|e| anyhow::anyhow!("--slow {s:?}: {e}"))?;
            k.slow.push((route, d));
        }
        for s in fail {
            let (route, r) = split_route(s, "--fail")?;
            let r: f64 = r
                .parse()
                .ok()
                .filter(|r: &f64| (0.0..=1.0).contains(r))
                .with_context(|| format!("--fail {s:?}: the rate must be a number from 0 to 1"))?;
            k.fail.push((route, r));
        }
        Ok(k)
    }
}

fn split_route<'a>(s: &'a str, flag: &str) -> Result<(String, &'a str)> {
    let Some((route, value)) = s.rsplit_once('=') else {
        bail!("{flag} {s:?}: expected 'METHOD /path=VALUE', e.g. 'POST /api/v1/auth/login=300ms'");
    };
    let route = route.trim();
    let ok = route
        .split_once(' ')
        .is_some_and(|(m, p)| !m.is_empty() && p.starts_with('/'));
    if !ok {
        bail!("{flag} {s:?}: the route must look like 'GET /api/v1/products'");
    }
    Ok((route.to_string(), value.trim()))
}

/// A running demo target; dropping it stops the listener.
pub struct DemoServer {
    pub addr: SocketAddr,
    pub shop: Arc<Shop>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn serve(addr: SocketAddr, knobs: Knobs) -> Result<DemoServer> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let shop = Arc::new(Shop::new(knobs));
    let s = shop.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shop = s.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let shop = shop.clone();
                    async move { Ok::<_, std::convert::Infallible>(shop.handle(req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(DemoServer { addr, shop, task })
}

/// `stampede demo-target`: serve until Ctrl-C.
pub async fn run_target(args: DemoTargetArgs) -> Result<u8> {
    let knobs = Knobs::parse(&args.slow, &args.fail)?;
    let server = serve(args.listen, knobs).await?;
    eprintln!(
        "stampede demo target on http://{} (user qa@example.com / demo-password); Ctrl-C stops",
        server.addr
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(crate::cli::exit::PASSED)
}
