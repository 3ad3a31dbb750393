//! CPU per request: the engine against a plain hyper loop, same server, same run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// The reference: plain hyper, one keep-alive connection per task.
pub(crate) async fn plain_loop(addr: &str, secs: u64, users: u32) -> u64 {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..users {
        let (count, stop, addr) = (count.clone(), stop.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            while !stop.load(Ordering::Relaxed) {
                let req = hyper::Request::get("/ok")
                    .header("host", &addr)
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                let resp = send.send_request(req).await.unwrap();
                let ok = resp.status() == 200;
                let _ = resp.into_body().collect().await;
                if ok {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    finish_loops(secs, tasks, &stop, &count).await
}

/// Lets the loops run for `secs`, stops them, and returns what they counted.
pub(crate) async fn finish_loops(
    secs: u64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: &AtomicBool,
    count: &AtomicU64,
) -> u64 {
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    count.load(Ordering::Relaxed)
}

/// The engine's HTTP client alone, without Wasm: isolates the client's own cost.
pub(crate) async fn client_loop(addr: &str, secs: u64) -> u64 {
    use stampede::client::{ClientConfig, Request, SystemResolver, VuClient, tls};
    let cfg = Arc::new(ClientConfig::new(
        tls::client_config(&[] as &[&str], false).unwrap(),
    ));
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let base: url::Url = format!("http://{addr}").parse().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..concurrency() {
        let (count, stop, cfg, base) = (count.clone(), stop.clone(), cfg.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = VuClient::new(cfg, Arc::new(SystemResolver));
            while !stop.load(Ordering::Relaxed) {
                let req = Request {
                    method: http::Method::GET,
                    url: Arc::new(base.join("/ok").unwrap()),
                    headers: vec![],
                    body: Bytes::new(),
                    timeout: None,
                    read_body: false,
                    read_headers: false,
                    follow_redirects: true,
                };
                if c.send(req).await.0.is_ok() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    finish_loops(secs, tasks, &stop, &count).await
}

/// Engine vs plain hyper CPU per request at `users` concurrent users: `rounds` rounds of
/// `secs`, the two sides in alternating order.
pub(crate) fn cpu_ratio(
    rt: &tokio::runtime::Runtime,
    addr: &str,
    cache: &Path,
    users: u32,
    secs: u64,
    rounds: usize,
) {
    let ratio_secs = secs;
    println!(
        "CPU per request: {users} concurrent users, {secs}s per measurement, {rounds} rounds (the two sides in alternating order), server in a child process"
    );
    let mut ratios = Vec::new();
    let (mut plains, mut engines) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let plain_side = || {
            let c0 = cpu_time();
            let n = rt.block_on(plain_loop(addr, ratio_secs, users));
            ((cpu_time() - c0).as_secs_f64() * 1e6 / n as f64, n)
        };
        let engine_side = || {
            let cfg = config(
                addr,
                users,
                Load::duration(Duration::from_secs(ratio_secs)),
                &[("TASKS", "get"), ("NAME", "GET /ok")],
                cache,
            );
            let c0 = cpu_time();
            let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
            let us = (cpu_time() - c0).as_secs_f64() * 1e6 / s.totals.http_reqs as f64;
            (us, s)
        };
        // Alternating which side goes first keeps a trend in the noise from favouring one.
        let ((plain_us, plain), (engine_us, s)) = if round % 2 == 1 {
            let p = plain_side();
            (p, engine_side())
        } else {
            let e = engine_side();
            (plain_side(), e)
        };
        let ratio = engine_us / plain_us;
        ratios.push(ratio);
        plains.push(plain_us);
        engines.push(engine_us);
        println!(
            "  round {round}: plain hyper {plain_us:6.1} CPU-µs/req ({:.0} req/s) | stampede {engine_us:6.1} CPU-µs/req ({:.0} req/s, {} failed) | ratio {ratio:.2}x",
            plain as f64 / ratio_secs as f64,
            s.totals.http_reqs_rate,
            s.totals.http_req_failed
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "  median ratio stampede / plain hyper: {:.2}x at {users} users (budget <= 1.5x); medians {:.1} / {:.1} CPU-µs/req",
        median(&mut ratios),
        median(&mut engines),
        median(&mut plains)
    );
}
