//! `just bench`: the engine against a plain hyper client loop, measured in one run.
//!
//! - CPU-µs per request: engine (Rust scenario, one named GET + one check per
//!   iteration, 50 VUs) vs a plain hyper loop with 50 keep-alive connections, against the
//!   same minimal server running in a child process (so only the generator is measured).
//! - Resident KiB per idle VU (10,000 VUs) and the time to instantiate 1,000 VUs from a
//!   warm compile cache.
//! - Open model: planned vs started iterations at 100, 1,000 and 10,000 per second on
//!   the demo target, and the scheduler's own CPU per iteration.
//! - The seed's journeys (each plugin, in each language) on the demo target at 100 VUs
//!   with no think time: CPU-µs per request and resident KiB per VU, each in a process
//!   of its own; JS against Rust on the same journey as the ratio.
//! - The smoke journey in Rust, JS, Go and Python: component size, compile time (cold,
//!   cached), instantiation, KiB per VU and CPU-µs per request at 50 VUs.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use stampede::executor::Load;
use stampede::run::{RunConfig, StopSignals, run};

/// Users on each side of the CPU comparison: few (a working set within this core's
/// caches) and many (one that is not). `BENCH_VUS=a,b` overrides; single-side modes use
/// the last.
fn concurrencies() -> Vec<u32> {
    let list = std::env::var("BENCH_VUS").unwrap_or_else(|_| "10,50".into());
    let v: Vec<u32> = list
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if v.is_empty() { vec![50] } else { v }
}

fn concurrency() -> u32 {
    *concurrencies().last().expect("non-empty")
}

fn cpu_times() -> (Duration, Duration) {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let mut u: Rusage = unsafe { std::mem::zeroed() };
    unsafe { getrusage(0, &mut u) };
    let tv = |t: Timeval| Duration::from_secs(t.sec as u64) + Duration::from_micros(t.usec as u64);
    (tv(u.utime), tv(u.stime))
}

fn cpu_time() -> Duration {
    let (u, s) = cpu_times();
    u + s
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Timeval {
    sec: i64,
    usec: i64,
}

#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

fn rss_anon_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("RssAnon:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The minimal server: a child process answering every request with a short body.
fn serve_forever() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"{\"ok\":true}"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

/// The demo target in a child process (`--serve-demo`).
fn serve_demo() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = stampede_demo::serve("127.0.0.1:0".parse().unwrap(), Default::default())
            .await
            .unwrap();
        println!("{}", server.addr);
        std::future::pending::<()>().await;
    });
}

fn start_server() -> (Child, String) {
    start_child("--serve")
}

fn start_child(mode: &str) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

/// The reference: plain hyper, one keep-alive connection per task.
async fn plain_loop(addr: &str, secs: u64, users: u32) -> u64 {
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
async fn finish_loops(
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
async fn client_loop(addr: &str, secs: u64) -> u64 {
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
                };
                if c.send(req).await.0.is_ok() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    finish_loops(secs, tasks, &stop, &count).await
}

fn config(addr: &str, vus: u32, load: Load, env: &[(&str, &str)], cache: &Path) -> RunConfig {
    let mut cfg = stampede_tests::config(
        stampede_tests::PROBE_WASM,
        &format!("http://{addr}"),
        vus,
        load,
        env,
    );
    cfg.cache_dir = Some(cache.to_path_buf());
    cfg
}

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        return serve_forever();
    }
    if std::env::args().any(|a| a == "--serve-demo") {
        return serve_demo();
    }
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    // The CPU rounds are short and many: this machine's noise comes in bursts of
    // seconds, and the median of many same-round ratios rides them out.
    let ratio_secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let cache = std::env::temp_dir().join("stampede-bench-cache");
    // Children of `journeys` and `languages`: one measurement each, no server of their own.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only == "journey" || only == "language" {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        if only == "journey" {
            journey_child(&rt, &cache, secs);
        } else {
            language_child(&rt, secs);
        }
        return;
    }
    let (mut server, addr) = start_server();
    // The generator gets one worker thread, like the anchors' single-core generators.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // BENCH_ONLY=ratio runs only the rounds below; plain|client|engine one side, for
    // profiling (BENCH_TASK picks the probe task of `engine`); idle only the memory
    // measurement (BENCH_IDLE_TASK picks the probe task the VUs run once).
    if only == "limits" {
        limits_cost(&rt, &addr, &cache);
        let _ = server.kill();
        return;
    }
    if only == "merge" {
        merge_cost();
        let _ = server.kill();
        return;
    }
    if only == "arrival" {
        arrival_accuracy(&rt, &cache);
        let _ = server.kill();
        return;
    }
    if only == "journeys" {
        journeys();
        let _ = server.kill();
        return;
    }

    if only == "languages" {
        languages();
        let _ = server.kill();
        return;
    }

    if only == "instantiate" {
        instantiation(&rt, &addr, &cache);
        let _ = server.kill();
        return;
    }
    if only == "idle" {
        let task = std::env::var("BENCH_IDLE_TASK").unwrap_or_else(|_| "get".into());
        idle_memory(&rt, &addr, &cache, &task);
        let _ = server.kill();
        return;
    }
    for only in only.split(',').filter(|o| !o.is_empty() && *o != "ratio") {
        let only = only.to_string();
        let (u0, s0) = cpu_times();
        let n = if only == "plain" {
            rt.block_on(plain_loop(&addr, secs, concurrency()))
        } else if only == "client" {
            rt.block_on(client_loop(&addr, secs))
        } else {
            let task = std::env::var("BENCH_TASK").unwrap_or_else(|_| "get".into());
            let cfg = config(
                &addr,
                concurrency(),
                Load::duration(Duration::from_secs(secs)),
                &[("TASKS", &task), ("NAME", "GET /ok")],
                &cache,
            );
            // BENCH_EPOCH=0: no epoch yields, for instruction counts under a simulator
            // (whose slowness would make them fire at nearly every request).
            let mut cfg = cfg;
            if std::env::var("BENCH_EPOCH").is_ok_and(|v| v == "0") {
                cfg.limits.epoch = false;
            }
            // One request per iteration (BENCH_TASK=noop: none, the engine alone).
            let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
            let d = &s.http_req_duration;
            println!(
                "  request duration as measured: median {:.3} ms, p95 {:.3} ms",
                d.med, d.p95
            );
            s.totals.iterations
        };
        let (u1, s1) = cpu_times();
        if std::env::var_os("BENCH_THREADS").is_some() {
            for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
                let st = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
                let f = |k: &str| {
                    st.lines()
                        .find(|l| l.starts_with(k))
                        .unwrap_or("")
                        .to_string()
                };
                println!(
                    "  {} {} {}",
                    f("Name:"),
                    f("voluntary_ctxt_switches:"),
                    f("nonvoluntary_ctxt_switches:")
                );
            }
        }
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "{only}: user {:.1} + sys {:.1} CPU-µs/req over {n} requests",
            per(u1 - u0),
            per(s1 - s0)
        );
    }
    if !only.is_empty() && only != "ratio" {
        let _ = server.kill();
        return;
    }
    for users in concurrencies() {
        cpu_ratio(&rt, &addr, &cache, users, ratio_secs, rounds);
    }
    if only == "ratio" {
        let _ = server.kill();
        return;
    }

    instantiation(&rt, &addr, &cache);
    idle_memory(&rt, &addr, &cache, "get");
    arrival_accuracy(&rt, &cache);
    limits_cost(&rt, &addr, &cache);
    let _ = server.kill();
    journeys();
    languages();
    // In a process of its own, so its peak memory is the merge's alone.
    let status = Command::new(std::env::current_exe().unwrap())
        .env("BENCH_ONLY", "merge")
        .status()
        .unwrap();
    assert!(status.success());
}

/// Engine vs plain hyper CPU per request at `users` concurrent users: `rounds` rounds of
/// `secs`, the two sides in alternating order.
fn cpu_ratio(
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

/// Instantiation from a warm cache: engine + cached component + InstancePre + 1,000
/// instances (each with its setup call), timed by a run whose VUs start and stop.
fn instantiation(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path) {
    let cfg = config(
        addr,
        1000,
        Load::iterations(1000),
        &[("TASKS", "custom")],
        cache,
    );
    let t0 = Instant::now();
    let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
    println!(
        "1,000 VUs instantiated, set up and run one task each, warm cache: {:.0} ms ({} iterations; budget <= 250 ms)",
        t0.elapsed().as_secs_f64() * 1e3,
        s.totals.iterations
    );
}

/// What the sandbox's limits cost on the core loop (fuel metering on vs off; epoch
/// interruption stays on, as without it a spinning guest would hold its thread), and how
/// soon a runaway task is stopped by each limit.
fn limits_cost(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path) {
    let secs = 4;
    let per_req = |fuel: u64, epoch: bool| {
        let mut cfg = config(
            addr,
            concurrency(),
            Load::duration(Duration::from_secs(secs)),
            &[("TASKS", "get"), ("NAME", "GET /ok")],
            cache,
        );
        cfg.limits.fuel_per_call = fuel;
        cfg.limits.epoch = epoch;
        let c0 = cpu_time();
        let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
        (cpu_time() - c0).as_secs_f64() * 1e6 / s.totals.http_reqs as f64
    };
    // Alternate, to spread drift over both.
    let fuel = stampede::run::DEFAULT_FUEL;
    let (mut both, mut no_fuel, mut neither) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..2 {
        neither.push(per_req(0, false));
        no_fuel.push(per_req(0, true));
        both.push(per_req(fuel, true));
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "limits: CPU-µs/req with fuel + epoch {:.1}, epoch only {:.1}, neither {:.1}: fuel costs {:.3}x, epoch {:.3}x",
        avg(&both),
        avg(&no_fuel),
        avg(&neither),
        avg(&both) / avg(&no_fuel),
        avg(&no_fuel) / avg(&neither)
    );
    // A task spinning forever: how long until each limit stops it.
    let runaway = |fuel: u64, time: Duration| {
        let mut cfg = stampede_tests::config(
            stampede_tests::HOSTILE_WASM,
            &format!("http://{addr}"),
            1,
            Load::iterations(3),
            &[("HOSTILE", "loop")],
        );
        cfg.cache_dir = Some(cache.to_path_buf());
        cfg.limits.fuel_per_call = fuel;
        cfg.limits.task_timeout = time;
        let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
        (s.iteration_duration.med, s.totals.iterations_failed)
    };
    let (fuel_ms, n) = runaway(stampede::run::DEFAULT_FUEL, Duration::from_secs(600));
    println!(
        "  runaway task stopped by the default fuel budget ({} units) after {fuel_ms:.0} ms (median of {n})",
        stampede::run::DEFAULT_FUEL
    );
    let (time_ms, n) = runaway(0, Duration::from_millis(500));
    println!(
        "  runaway task without fuel stopped by a 500 ms time limit after {time_ms:.1} ms (median of {n}; epoch tick 10 ms)"
    );
}

/// `stampede merge` of 100 segments of a 10-endpoint, 60-second run (10,000 requests
/// per segment, 1,000 per endpoint, latencies 1-500 ms): wall time and peak memory,
/// and the merged percentiles against one histogram of all the samples.
fn merge_cost() {
    use stampede::metrics::aggregate::{Aggregator, RunMeta};
    use stampede::metrics::event::{Event, RequestSample};
    use stampede::metrics::summary::{ScenarioInfo, SegmentInfo};
    use stampede::metrics::{Names, Trend};
    let (segments, endpoints, per_endpoint) = (100u32, 10u32, 1_000u64);
    let dir = std::env::temp_dir().join("stampede-bench-merge");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut all = Trend::new();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut files = Vec::new();
    for seg in 0..segments {
        let names = Arc::new(Names::new(100));
        let ids: Vec<_> = (0..endpoints)
            .map(|e| names.intern(&format!("GET /api/v1/endpoint/{e}")))
            .collect();
        let mut agg = Aggregator::new(names);
        for (e, id) in ids.iter().enumerate() {
            for k in 0..per_endpoint {
                // Each endpoint its own spread, up to 500 ms.
                let us = rng.u64(1_000..=(50_000 * (e as u64 + 1)));
                all.record(us);
                agg.add(&Event::Request(RequestSample {
                    name: *id,
                    status: 200,
                    error: None,
                    at_ms: (k * 60_000 / per_endpoint) as u32,
                    duration_us: us,
                    waiting_us: us,
                    connecting_us: 0,
                    tls_us: 0,
                    bytes_sent: 100,
                    bytes_received: 1_000,
                }));
            }
        }
        let s = agg.summary(RunMeta {
            scenario: ScenarioInfo {
                name: "bench".into(),
                file: "bench.wasm".into(),
                sha256: "00".into(),
                tags: Default::default(),
            },
            target: None,
            started_at_ms: 0,
            duration_s: 60.0,
            model: "closed".into(),
            vus_max: 10,
            interrupted: None,
            aborted: None,
            warnings: vec![],
            run_errors: vec![],
            dropped_iterations: 0,
            segment: Some(SegmentInfo {
                index: seg + 1,
                count: segments,
            }),
            fingerprint: "bench".into(),
            peak_rss_kib: 0,
        });
        let f = dir.join(format!("seg-{seg}.json"));
        std::fs::write(&f, stampede_tests::summary_to_json(&s)).unwrap();
        files.push(f);
    }
    let bytes: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    let hwm_before = vm_hwm_kib();
    let t0 = Instant::now();
    let parts: Vec<(String, stampede::metrics::Summary)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            (
                f.display().to_string(),
                stampede_tests::summary_from_json(&text).unwrap(),
            )
        })
        .collect();
    let merged = stampede::metrics::segments::merge_segments(parts, false).unwrap();
    let elapsed = t0.elapsed();
    let hwm = vm_hwm_kib();
    let diff = |p: f64, got: f64| (got - all.percentile(p) as f64 / 1000.0).abs();
    let t = &merged.http_req_duration;
    println!(
        "merge: {segments} segments x {endpoints} endpoints ({:.1} MB of JSON, {} requests) in {:.0} ms; process peak memory {:.0} MiB, generating them included (+{:.0} MiB during the merge); merged vs one histogram of every sample: |Δp50| {:.3} ms, |Δp95| {:.3} ms, |Δp99| {:.3} ms",
        bytes as f64 / 1e6,
        merged.totals.http_reqs,
        elapsed.as_secs_f64() * 1e3,
        hwm as f64 / 1024.0,
        hwm.saturating_sub(hwm_before) as f64 / 1024.0,
        diff(50.0, t.med),
        diff(95.0, t.p95),
        diff(99.0, t.p99)
    );
}

fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The open model's schedule accuracy against the demo target (in a child process):
/// planned vs started iterations at 100, 1,000 and 10,000 per second, and the CPU the
/// scheduler itself spends per iteration (measured with no VU to hand iterations to,
/// so every one is scheduled, found no taker and counted as dropped).
fn arrival_accuracy(rt: &tokio::runtime::Runtime, cache: &Path) {
    let (mut demo, addr) = start_child("--serve-demo");
    let secs = 5;
    println!("open model on the demo target (GET /health per iteration), {secs}s each:");
    let mut total_cpu_per_it = 0.0;
    for rate in [100.0, 1_000.0, 10_000.0] {
        let mut cfg = config(
            &addr,
            100,
            Load::rate(rate, Duration::from_secs(secs)),
            &[("TASKS", "get"), ("PATH", "/health")],
            cache,
        );
        cfg.plan.max_vus = 400;
        let c0 = cpu_time();
        let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
        let cpu = (cpu_time() - c0).as_secs_f64();
        let planned = (rate * secs as f64) as u64;
        let t = &s.totals;
        total_cpu_per_it = cpu * 1e6 / t.iterations.max(1) as f64;
        println!(
            "  {rate:>6}/s: planned {planned}, started {} ({:.2}%), dropped {}, {} VUs, p95 {:.2} ms, {:.1} CPU-µs per iteration",
            t.iterations,
            100.0 * t.iterations as f64 / planned as f64,
            t.dropped_iterations,
            s.vus_max,
            s.http_req_duration.p95,
            total_cpu_per_it
        );
    }
    let _ = demo.kill();
    // The scheduler alone: 10,000/s for 3 s with no VU to take them.
    let pool = Arc::new(stampede::executor::arrival::IdlePool::new(0, 0));
    let stages = [stampede::executor::RateStage {
        duration: Duration::from_secs(3),
        target: 10_000.0,
    }];
    let c0 = cpu_time();
    rt.block_on(async {
        let due = stampede::executor::arrival::arrivals(10_000.0, &stages);
        stampede::executor::arrival::schedule(
            pool.clone(),
            due,
            tokio::time::Instant::now(),
            |_| false,
        )
        .await
    });
    let n = pool.dropped.load(Ordering::Relaxed);
    let sched = (cpu_time() - c0).as_secs_f64() * 1e6 / n as f64;
    println!(
        "  scheduler alone: {sched:.2} CPU-µs per iteration over {n} ({:.1}% of a whole iteration at 10,000/s)",
        100.0 * sched / total_cpu_per_it
    );
}

/// Resident memory per idle VU: 10,000 VUs each run `task` once, then wait.
fn idle_memory(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path, task: &str) {
    // BENCH_IDLE_VUS: fewer, e.g. under a heap profiler.
    let vus: u32 = std::env::var("BENCH_IDLE_VUS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let cfg = config(
        addr,
        vus,
        Load::duration(Duration::from_secs(6)),
        &[("TASKS", task), ("WAIT_MS", "60000")],
        cache,
    );
    let base = rss_anon_kib();
    let peak = Arc::new(AtomicU64::new(0));
    let p = peak.clone();
    let sampler = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(5));
        p.store(rss_anon_kib(), Ordering::SeqCst);
        if std::env::var_os("BENCH_SMAPS").is_some() {
            // The largest mappings by resident size, to see where idle VUs' memory is.
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
            let mut maps: Vec<(u64, String)> = Vec::new();
            let mut head = String::new();
            for l in smaps.lines() {
                if l.contains('-') && !l.starts_with(|c: char| c.is_ascii_uppercase()) {
                    head = l.chars().take(90).collect();
                } else if let Some(v) = l.strip_prefix("Rss:") {
                    let kb: u64 = v.trim().trim_end_matches(" kB").parse().unwrap_or(0);
                    maps.push((kb, head.clone()));
                }
            }
            maps.sort_by_key(|m| std::cmp::Reverse(m.0));
            for (kb, h) in maps.iter().take(8) {
                println!("  {kb:>8} kB  {h}");
            }
        }
    });
    let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
    sampler.join().unwrap();
    let idle = peak.load(Ordering::SeqCst);
    println!(
        "{vus} idle VUs ({task} once each): RssAnon {} MiB above baseline = {:.1} KiB per VU ({} requests; budget <= 64 KiB)",
        idle.saturating_sub(base) / 1024,
        idle.saturating_sub(base) as f64 / vus as f64,
        s.totals.http_reqs
    );
}

/// (plugin, language, component, extra `--env`) of one journey in the benchmark.
type Journey = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const JOURNEYS: &[Journey] = &[
    ("smoke", "rust", stampede_tests::SMOKE_WASM, &[]),
    ("checkout", "rust", stampede_tests::CHECKOUT_WASM, &[]),
    ("checkout", "js", stampede_tests::CHECKOUT_JS_WASM, &[]),
    (
        "token-refresh",
        "rust",
        stampede_tests::TOKEN_REFRESH_WASM,
        &[("REFRESH_AFTER_S", "1")],
    ),
    (
        "token-refresh",
        "js",
        stampede_tests::TOKEN_REFRESH_JS_WASM,
        &[("REFRESH_AFTER_S", "1")],
    ),
    (
        "file-upload",
        "rust",
        stampede_tests::FILE_UPLOAD_WASM,
        &[("ROWS", "100"), ("POLL_MS", "20")],
    ),
    (
        "file-upload",
        "go",
        stampede_tests::FILE_UPLOAD_GO_WASM,
        &[("ROWS", "100"), ("POLL_MS", "20")],
    ),
];
const JOURNEY_VUS: u32 = 100;

/// Runs measurement `i` of `mode` in a child process against the demo target at `addr`;
/// returns the child's last line (its figures) and the numbers in it.
fn child_figures(mode: &str, index_var: &str, i: usize, addr: &str) -> (String, Vec<f64>) {
    let out = Command::new(std::env::current_exe().unwrap())
        .env("BENCH_ONLY", mode)
        .env(index_var, i.to_string())
        .env("BENCH_ADDR", addr)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("").to_string();
    let f = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (line, f)
}

/// Each journey in a child process of its own (so its memory is its own), against one
/// demo target in another; prints a table and JS/Rust ratios.
fn journeys() {
    let (mut demo, addr) = start_child("--serve-demo");
    println!(
        "journeys on the demo target, {JOURNEY_VUS} VUs, no think time, each in its own process:"
    );
    println!(
        "  {:<14} {:<5} {:>12} {:>10} {:>9} {:>10}",
        "plugin", "lang", "CPU-µs/req", "KiB/VU", "req/s", "failed"
    );
    let mut rust = std::collections::HashMap::new();
    for (i, (plugin, lang, _, _)) in JOURNEYS.iter().enumerate() {
        let (line, f) = child_figures("journey", "BENCH_JOURNEY", i, &addr);
        let [cpu, kib, rps, failed] = f[..] else {
            println!("  {plugin:<14} {lang:<5} failed to run: {line}");
            continue;
        };
        let vs = if *lang == "rust" {
            rust.insert(*plugin, (cpu, kib));
            String::new()
        } else {
            rust.get(plugin)
                .map(|(c, k)| {
                    format!(
                        "  ({:.2}x Rust's CPU per request, {:.1}x its KiB per VU)",
                        cpu / c,
                        kib / k.max(1.0)
                    )
                })
                .unwrap_or_default()
        };
        println!("  {plugin:<14} {lang:<5} {cpu:>12.1} {kib:>10.0} {rps:>9.0} {failed:>10}{vs}");
    }
    let _ = demo.kill();
}

/// One journey (`BENCH_JOURNEY`), run against `BENCH_ADDR`: prints CPU-µs per request,
/// RssAnon KiB per VU mid-run (above the process after a warm-up VU), req/s, failures.
fn journey_child(rt: &tokio::runtime::Runtime, cache: &Path, secs: u64) {
    let i: usize = std::env::var("BENCH_JOURNEY").unwrap().parse().unwrap();
    let addr = std::env::var("BENCH_ADDR").unwrap();
    let (_, _, wasm, extra) = JOURNEYS[i];
    let m = measure_load(rt, cache, wasm, extra, &addr, JOURNEY_VUS, secs);
    println!(
        "{:.1} {:.1} {:.0} {}",
        m.cpu_us, m.kib_per_vu, m.rps, m.failed
    );
}

struct LoadFigures {
    cpu_us: f64,
    kib_per_vu: f64,
    rps: f64,
    failed: u64,
}

/// `vus` VUs with no think time for `secs` against the demo target at `addr`: CPU-µs per
/// request, and RssAnon per VU sampled mid-run above the process after a warm-up VU
/// (so the engine and the code are in the baseline and only the VUs are measured).
fn measure_load(
    rt: &tokio::runtime::Runtime,
    cache: &Path,
    wasm: &str,
    extra: &[(&str, &str)],
    addr: &str,
    vus: u32,
    secs: u64,
) -> LoadFigures {
    let cfg = |vus, load| {
        let mut env = vec![("WAIT_MIN_MS", "0"), ("WAIT_MAX_MS", "0")];
        env.extend_from_slice(extra);
        let mut c = stampede_tests::config(wasm, &format!("http://{addr}"), vus, load, &env);
        c.cache_dir = Some(cache.to_path_buf());
        c
    };
    rt.block_on(run(
        cfg(1, Load::iterations(5)),
        StopSignals::none(),
        |_| {},
    ))
    .unwrap();
    let base = rss_anon_kib();
    let mid = Arc::new(AtomicU64::new(0));
    let m = mid.clone();
    let sampler = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(secs as f64 * 0.6));
        m.store(rss_anon_kib(), Ordering::SeqCst);
    });
    let c0 = cpu_time();
    let s = rt
        .block_on(run(
            cfg(vus, Load::duration(Duration::from_secs(secs))),
            StopSignals::none(),
            |_| {},
        ))
        .unwrap();
    let cpu_us = (cpu_time() - c0).as_secs_f64() * 1e6 / s.totals.http_reqs.max(1) as f64;
    sampler.join().unwrap();
    LoadFigures {
        cpu_us,
        kib_per_vu: mid.load(Ordering::SeqCst).saturating_sub(base) as f64 / vus as f64,
        rps: s.totals.http_reqs_rate,
        failed: s.totals.http_req_failed + s.totals.iterations_failed,
    }
}

/// The smoke journey in each language.
const SMOKES: &[(&str, &str)] = &[
    ("rust", stampede_tests::SMOKE_WASM),
    ("js", stampede_tests::SMOKE_JS_WASM),
    ("go", stampede_tests::SMOKE_GO_WASM),
    ("python", stampede_tests::SMOKE_PY_WASM),
];
const LANGUAGE_VUS: u32 = 50;

/// The same smoke journey in each language, each in a process of its own: component
/// size, compile time (cold, then from the cache), instantiation, resident KiB per VU
/// and CPU-µs per request at 50 VUs; ratios against Rust.
fn languages() {
    let (mut demo, addr) = start_child("--serve-demo");
    println!(
        "smoke in each language, demo target, {LANGUAGE_VUS} VUs with no think time, each in its own process:"
    );
    println!(
        "  {:<7} {:>8} {:>11} {:>10} {:>12} {:>8} {:>11} {:>8} {:>7}",
        "lang",
        "size MB",
        "compile ms",
        "cached ms",
        "instantiate",
        "KiB/VU",
        "CPU-µs/req",
        "req/s",
        "failed"
    );
    let mut rust: Option<Vec<f64>> = None;
    for (i, (lang, _)) in SMOKES.iter().enumerate() {
        let (line, f) = child_figures("language", "BENCH_LANG", i, &addr);
        let [size, cold, cached, inst, kib, cpu, rps, failed] = f[..] else {
            println!("  {lang:<7} failed to run: {line}");
            continue;
        };
        println!(
            "  {lang:<7} {size:>8.2} {cold:>11.0} {cached:>10.1} {inst:>9.0} µs {kib:>8.0} {cpu:>11.1} {rps:>8.0} {failed:>7}"
        );
        match &rust {
            None => rust = Some(f.clone()),
            Some(r) => println!(
                "          vs rust: instantiate {:.1}x, KiB/VU {:.1}x, CPU-µs/req {:.2}x",
                inst / r[3],
                kib / r[4].max(1.0),
                cpu / r[5]
            ),
        }
    }
    let _ = demo.kill();
}

/// State of the bare instantiation measurement: WASI only (the stampede imports trap if
/// called; instantiation does not call them).
struct Bare {
    wasi: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
}

impl wasmtime_wasi::WasiView for Bare {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One language (`BENCH_LANG`): prints size MB, cold compile ms, cached load ms,
/// instantiate µs, KiB/VU, CPU-µs/req, req/s, failures.
fn language_child(rt: &tokio::runtime::Runtime, secs: u64) {
    let i: usize = std::env::var("BENCH_LANG").unwrap().parse().unwrap();
    let addr = std::env::var("BENCH_ADDR").unwrap();
    let wasm = SMOKES[i].1;
    let bytes = std::fs::read(wasm).unwrap();
    let engine = stampede::engine::engine(stampede::engine::EngineSettings {
        max_instances: 64,
        memory_cap: 256 << 20,
        fuel: true,
        epoch: true,
    })
    .unwrap();
    let cache = std::env::temp_dir().join(format!("stampede-bench-lang-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let path = Path::new(wasm);
    let t0 = Instant::now();
    let cold = stampede::engine::load_component(&engine, path, &bytes, Some(&cache)).unwrap();
    let cold_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert!(!cold.cache_hit);
    let t0 = Instant::now();
    let cached = stampede::engine::load_component(&engine, path, &bytes, Some(&cache)).unwrap();
    let cached_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert!(cached.cache_hit);
    eprintln!("compiled in {cold_ms:.0} ms, loaded from the cache in {cached_ms:.1} ms");

    let mut linker = wasmtime::component::Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    // The stampede imports as functions that fail if called (instantiation calls none).
    // Not define_unknown_imports_as_traps: it shadows WASI 0.2.x interfaces that the
    // linker provides under another patch version.
    use wasmtime::component::types::ComponentItem;
    let ty = cached.component.component_type();
    for (name, import) in ty.imports(&engine) {
        let ComponentItem::ComponentInstance(inst) = import.ty else {
            continue;
        };
        if !name.starts_with("stampede:") {
            continue;
        }
        let mut li = linker.instance(name).unwrap();
        for (fname, export) in inst.exports(&engine) {
            if let ComponentItem::ComponentFunc(_) = export.ty {
                li.func_new(fname, |_, _, _, _| {
                    Err(wasmtime::Error::msg("not available in this benchmark"))
                })
                .unwrap();
            }
        }
    }
    let pre = linker.instantiate_pre(&cached.component).unwrap();
    let instantiate = || async {
        let mut store = wasmtime::Store::new(
            &engine,
            Bare {
                wasi: wasmtime_wasi::WasiCtx::builder().build(),
                table: wasmtime::component::ResourceTable::new(),
            },
        );
        store.set_fuel(u64::MAX).unwrap();
        store.set_epoch_deadline(1);
        let t0 = Instant::now();
        pre.instantiate_async(&mut store).await.unwrap();
        t0.elapsed()
    };
    let n = 40;
    let inst_us = rt.block_on(async {
        for _ in 0..5 {
            instantiate().await;
        }
        let mut total = Duration::ZERO;
        for _ in 0..n {
            total += instantiate().await;
        }
        total.as_secs_f64() * 1e6 / n as f64
    });
    drop(pre);
    eprintln!("instantiated in {inst_us:.0} µs");
    let m = measure_load(rt, &cache, wasm, &[], &addr, LANGUAGE_VUS, secs);
    let _ = std::fs::remove_dir_all(&cache);
    println!(
        "{:.2} {cold_ms:.0} {cached_ms:.1} {inst_us:.0} {:.1} {:.1} {:.0} {}",
        bytes.len() as f64 / 1e6,
        m.kib_per_vu,
        m.cpu_us,
        m.rps,
        m.failed
    );
}
