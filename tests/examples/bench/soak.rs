//! Soak: the checkout journey at a steady rate for a long time (60 minutes by default,
//! `BENCH_SOAK_MIN` to change), this process's resident memory sampled along the way. A
//! host that leaks shows as a rising curve; after warm-up it must stay within 5%.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// Iterations per second of the journey.
const RATE: f64 = 100.0;
/// Largest drift of resident memory after warm-up, as a share of its first reading.
const FLAT: f64 = 0.05;

pub(crate) fn soak(cache: &Path) {
    let minutes: f64 = std::env::var("BENCH_SOAK_MIN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let duration = Duration::from_secs_f64(minutes * 60.0);
    // A reading a minute, and at least 12 in all.
    let every = Duration::from_secs(60).min(duration / 12);
    // The first sixth of the run (at most 5 minutes) is warm-up: pools, caches and the
    // allocator's arenas fill.
    let warm_up = (duration / 6).min(Duration::from_secs(300));
    let (mut demo, addr) = start_child("--serve-demo");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = stampede_tests::config(
        stampede_tests::CHECKOUT_WASM,
        &format!("http://{addr}"),
        20,
        Load::rate(RATE, duration),
        &[("WAIT_MIN_MS", "0"), ("WAIT_MAX_MS", "0")],
    );
    cfg.plan.max_vus = 200;
    cfg.cache_dir = Some(cache.to_path_buf());
    println!(
        "soak: checkout at {RATE} it/s for {minutes} min, resident memory every {}s (warm-up {}s):",
        every.as_secs(),
        warm_up.as_secs()
    );
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut curve = Vec::new();
            let mut next = every;
            // Readings while the load runs, not as it winds down (VUs leaving).
            while !done.load(Ordering::Relaxed) && next < duration {
                std::thread::sleep(Duration::from_millis(200));
                if start.elapsed() >= next {
                    let kib = stampede::run::memory::resident_bytes().unwrap_or(0) >> 10;
                    println!("  {:>6.1} min  {:>8} KiB", next.as_secs_f64() / 60.0, kib);
                    curve.push((next, kib));
                    next += every;
                }
            }
            curve
        })
    };
    let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
    done.store(true, Ordering::Relaxed);
    let curve = sampler.join().unwrap();
    let _ = demo.kill();
    let settled: Vec<u64> = curve
        .iter()
        .filter(|(at, _)| *at > warm_up)
        .map(|&(_, kib)| kib)
        .collect();
    let Some(&first) = settled.first() else {
        println!("  too short to judge: no reading after warm-up");
        return;
    };
    let (lo, hi) = (
        *settled.iter().min().unwrap(),
        *settled.iter().max().unwrap(),
    );
    let drift = (hi - lo) as f64 / first as f64;
    println!(
        "soak: {} iterations ({} failed, {} dropped), {} requests; resident memory after warm-up {lo}..{hi} KiB: drift {:.1}% ({})",
        s.totals.iterations,
        s.totals.iterations_failed,
        s.totals.dropped_iterations,
        s.totals.http_reqs,
        drift * 100.0,
        if drift <= FLAT {
            "flat, within 5%"
        } else {
            "NOT flat: over 5%"
        }
    );
}
