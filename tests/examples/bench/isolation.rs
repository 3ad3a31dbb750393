//! Latency isolation between scenarios: a well-behaved scenario's p95 alone and beside
//! a scenario whose VUs spin in every task, with what an outside client saw of the same
//! server at the same time (the share of the change that is the server's, not ours).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stampede::executor::Load;
use stampede::run::{StopSignals, run_all};

use crate::harness::*;

/// The well-behaved scenario's rate, and the spinning neighbour's VUs.
const RATE: u32 = 50;
const SPINNERS: u32 = 4;

pub(crate) fn isolation(cache: &Path, secs: u64, rounds: usize) {
    let (mut demo, addr) = start_child("--serve-demo");
    // The CLI's runtime: as many workers as cores.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let duration = Duration::from_secs(secs);
    let well = || {
        let mut c = stampede_tests::config(
            stampede_tests::CHECKOUT_WASM,
            &format!("http://{addr}"),
            10,
            Load::rate(RATE as f64, duration),
            &[("WAIT_MIN_MS", "0"), ("WAIT_MAX_MS", "0")],
        );
        c.name = Some("well".into());
        c.cache_dir = Some(cache.to_path_buf());
        c
    };
    let spinner = || {
        let mut c = stampede_tests::config(
            stampede_tests::HOSTILE_WASM,
            &format!("http://{addr}"),
            SPINNERS,
            Load::duration(duration),
            &[("HOSTILE", "loop")],
        );
        c.name = Some("spinner".into());
        c.cache_dir = Some(cache.to_path_buf());
        c.plan.graceful_stop = Duration::ZERO;
        c
    };
    // p95 of the well-behaved scenario, and of an outside client meanwhile, in ms.
    let measure = |beside: bool| {
        let outside = Outside::start(&addr);
        let mut cfgs = vec![well()];
        if beside {
            cfgs.push(spinner());
        }
        let s = rt
            .block_on(run_all(cfgs, StopSignals::none(), |_| {}))
            .unwrap();
        let outside = outside.stop();
        let well = if beside {
            s.scenarios
                .iter()
                .find(|p| p.scenario.name == "well")
                .unwrap()
                .http_req_duration
                .p95
        } else {
            s.http_req_duration.p95
        };
        (well, outside)
    };
    // Warm the compile cache and the server.
    let _ = measure(false);
    let (mut ratios, mut outside_ratios) = (Vec::new(), Vec::new());
    let (mut alone_ms, mut beside_ms) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (a, oa) = measure(false);
        let (b, ob) = measure(true);
        alone_ms.push(a);
        beside_ms.push(b);
        ratios.push(b / a);
        outside_ratios.push(ob / oa);
    }
    let _ = demo.kill();
    println!(
        "isolation: checkout at {RATE} it/s, p95 alone {:.2} ms, beside {SPINNERS} spinning VUs {:.2} ms: {:.2}x (median of {rounds} rounds of {secs} s; rounds {}); an outside client meanwhile {:.2}x",
        median(&alone_ms),
        median(&beside_ms),
        median(&ratios),
        ratios
            .iter()
            .map(|r| format!("{r:.2}x"))
            .collect::<Vec<_>>()
            .join(" "),
        median(&outside_ratios),
    );
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A plain client on a thread of its own: one keep-alive connection, a GET every 20 ms,
/// each timed.
struct Outside {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<f64>>,
}

impl Outside {
    fn start(addr: &str) -> Outside {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let addr = addr.to_string();
        let thread = std::thread::spawn(move || {
            let stream = TcpStream::connect(&addr).unwrap();
            stream.set_nodelay(true).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut times = Vec::new();
            let request = format!("GET /api/v1/products?limit=5 HTTP/1.1\r\nhost: {addr}\r\n\r\n");
            while !flag.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                writer.write_all(request.as_bytes()).unwrap();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let l = line.to_ascii_lowercase();
                    if let Some(v) = l.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                times.push(t0.elapsed().as_secs_f64() * 1e3);
                std::thread::sleep(Duration::from_millis(20));
            }
            times
        });
        Outside { stop, thread }
    }

    /// Its p95 in ms.
    fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let mut times = self.thread.join().unwrap();
        times.sort_by(f64::total_cmp);
        times[(times.len() * 95 / 100).min(times.len() - 1)]
    }
}
