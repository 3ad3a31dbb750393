//! What every benchmark shares: CPU and memory readings, the servers in child
//! processes, run configurations and child measurements.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use stampede::executor::Load;
use stampede::run::{RunConfig, StopSignals, run};

/// Users on each side of the CPU comparison: few (a working set within this core's
/// caches) and many (one that is not). `BENCH_VUS=a,b` overrides; single-side modes use
/// the last.
pub(crate) fn concurrencies() -> Vec<u32> {
    let list = std::env::var("BENCH_VUS").unwrap_or_else(|_| "10,50".into());
    let v: Vec<u32> = list
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if v.is_empty() { vec![50] } else { v }
}

pub(crate) fn concurrency() -> u32 {
    *concurrencies().last().expect("non-empty")
}

pub(crate) fn cpu_times() -> (Duration, Duration) {
    rusage(0)
}

/// User and system CPU of `who`: 0 this process, -1 its waited-for children.
fn rusage(who: i32) -> (Duration, Duration) {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let mut u: Rusage = unsafe { std::mem::zeroed() };
    unsafe { getrusage(who, &mut u) };
    let tv = |t: Timeval| Duration::from_secs(t.sec as u64) + Duration::from_micros(t.usec as u64);
    (tv(u.utime), tv(u.stime))
}

/// CPU time of the waited-for children so far.
pub(crate) fn children_cpu() -> Duration {
    let (u, s) = rusage(-1);
    u + s
}

pub(crate) fn cpu_time() -> Duration {
    let (u, s) = cpu_times();
    u + s
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Timeval {
    sec: i64,
    usec: i64,
}

#[repr(C)]
pub(crate) struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

pub(crate) fn rss_anon_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("RssAnon:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The minimal server: a child process answering every request with a short body.
pub(crate) fn serve_forever() {
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
pub(crate) fn serve_demo() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // BENCH_DEMO_LATENCY: every route's added latency median (`--latency '*=…'`).
        let latency: Vec<String> = std::env::var("BENCH_DEMO_LATENCY")
            .map(|m| vec![format!("*={m}")])
            .unwrap_or_default();
        let knobs = stampede_demo::Knobs::parse(&[], &latency, &[]).unwrap();
        let server = stampede_demo::serve("127.0.0.1:0".parse().unwrap(), knobs)
            .await
            .unwrap();
        println!("{}", server.addr);
        std::future::pending::<()>().await;
    });
}

pub(crate) fn start_server() -> (Child, String) {
    start_child("--serve")
}

pub(crate) fn start_child(mode: &str) -> (Child, String) {
    start_child_with(mode, &[])
}

pub(crate) fn start_child_with(mode: &str, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(mode)
        .envs(env.iter().copied())
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

pub(crate) fn config(
    addr: &str,
    vus: u32,
    load: Load,
    env: &[(&str, &str)],
    cache: &Path,
) -> RunConfig {
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

pub(crate) fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Runs measurement `i` of `mode` in a child process against the demo target at `addr`;
/// returns the child's last line (its figures) and the numbers in it.
pub(crate) fn child_figures(
    mode: &str,
    index_var: &str,
    i: usize,
    addr: &str,
) -> (String, Vec<f64>) {
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

pub(crate) struct LoadFigures {
    pub(crate) cpu_us: f64,
    pub(crate) kib_per_vu: f64,
    pub(crate) rps: f64,
    pub(crate) failed: u64,
}

/// `vus` VUs with no think time for `secs` against the demo target at `addr`: CPU-µs per
/// request, and RssAnon per VU sampled mid-run above the process after a warm-up VU
/// (so the engine and the code are in the baseline and only the VUs are measured).
pub(crate) fn measure_load(
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
