//! The demo shop: a small but honest staging API served in-process, for `stampede demo`,
//! the README's first command, and the test suite.

mod api;
mod auth;
mod catalog;
mod imports;
mod orders;
mod reports;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use api::{Shop, route_of};
pub use wire::{DemoStats, get};

/// A duration flag (`15m`, `500ms`), or what to write instead.
fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}); write it like 30s, 1m30s or 500ms"))
}

/// The demo's credentials; the plugins fall back to them when no `--env` names others.
pub const DEMO_EMAIL: &str = "qa@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_CLIENT_ID: &str = "demo-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
pub const DEMO_API_KEY: &str = "demo-api-key";

/// Accounts the shop also accepts: the product brief's Locust scripts' defaults, so they
/// run against the demo unchanged, with no `--env`.
pub const BRIEF_ACCOUNTS: [(&str, &str); 3] = [
    ("perf-test-user@example.com", "SuperSecure123!"),
    ("checkout-user@example.com", "CheckoutPass123!"),
    ("api-user@example.com", "ApiPass123!"),
];
pub const BRIEF_CLIENT: (&str, &str) = ("staging-web-client", "staging-client-secret");
pub const BRIEF_API_KEY: &str = "staging-api-key";

/// Whether `email`/`password` is one of the demo's accounts.
pub fn known_account(email: &str, password: &str) -> bool {
    (email == DEMO_EMAIL && password == DEMO_PASSWORD)
        || BRIEF_ACCOUNTS.contains(&(email, password))
}

/// Whether `id`/`secret` is one of the demo's OAuth clients.
pub fn known_client(id: &str, secret: &str) -> bool {
    (id == DEMO_CLIENT_ID && secret == DEMO_CLIENT_SECRET) || (id, secret) == BRIEF_CLIENT
}

#[derive(Args, Debug, Clone)]
pub struct DemoTargetArgs {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Added latency for a route, e.g. `--slow 'POST /api/v1/auth/login=300ms'` (repeatable).
    #[arg(long, value_name = "ROUTE=DURATION")]
    pub slow: Vec<String>,
    /// Random added latency for a route, log-normal with this median (σ 0.5, so its p95
    /// is 2.28 times the median), e.g. `--latency '*=10ms'` for every route; scaling the
    /// median scales every percentile alike (A/B tests of the gate).
    #[arg(long, value_name = "ROUTE=MEDIAN")]
    pub latency: Vec<String>,
    /// Error rate (0..1) for a route: it answers 503, e.g. `--fail 'GET /api/v1/users/me=0.1'`.
    #[arg(long, value_name = "ROUTE=RATE")]
    pub fail: Vec<String>,
    /// Lifetime of OAuth access tokens, e.g. `--token-ttl 30s` to see refreshes soon.
    #[arg(long, value_parser = crate::parse_duration, default_value = "15m")]
    pub token_ttl: Duration,
    /// Processing time per imported CSV row (a job's run time, capped at 5 s).
    #[arg(long, value_parser = crate::parse_duration, default_value = "1ms")]
    pub import_row_time: Duration,
}

/// Degradations a demo can apply, to make a release look worse, and its timings.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// (route, added latency): a route is "METHOD /path", with `{param}` segments as
    /// the API lists them or a literal path.
    pub slow: Vec<(String, Duration)>,
    /// (route, median of a log-normal added latency).
    pub latency: Vec<(String, Duration)>,
    pub fail: Vec<(String, f64)>,
    pub token_ttl: Duration,
    pub import_row_time: Duration,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            slow: Vec::new(),
            latency: Vec::new(),
            fail: Vec::new(),
            token_ttl: Duration::from_secs(15 * 60),
            import_row_time: Duration::from_millis(1),
        }
    }
}

impl Knobs {
    pub fn parse(slow: &[String], latency: &[String], fail: &[String]) -> Result<Knobs> {
        let mut k = Knobs::default();
        for (flag, texts, into) in [
            ("--slow", slow, &mut k.slow),
            ("--latency", latency, &mut k.latency),
        ] {
            for s in texts {
                let (route, d) = split_route(s, flag)?;
                let d =
                    crate::parse_duration(d).map_err(|e| anyhow::anyhow!("{flag} {s:?}: {e}"))?;
                into.push((route, d));
            }
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
    let ok = route == "*"
        || route
            .split_once(' ')
            .is_some_and(|(m, p)| !m.is_empty() && p.starts_with('/'));
    if !ok {
        bail!("{flag} {s:?}: the route must look like 'GET /api/v1/products' (or '*' for all)");
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
pub async fn run_target(args: DemoTargetArgs) -> Result<()> {
    let mut knobs = Knobs::parse(&args.slow, &args.latency, &args.fail)?;
    knobs.token_ttl = args.token_ttl;
    knobs.import_row_time = args.import_row_time;
    let server = serve(args.listen, knobs).await?;
    eprintln!(
        "stampede demo target on http://{} (user {DEMO_EMAIL} / {DEMO_PASSWORD}; OAuth client \
         {DEMO_CLIENT_ID} / {DEMO_CLIENT_SECRET}; X-API-Key {DEMO_API_KEY}; and the product brief's Locust defaults); Ctrl-C stops",
        server.addr
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}
