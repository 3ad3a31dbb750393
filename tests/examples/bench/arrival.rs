//! The open model: planned vs started iterations, and the scheduler's own CPU.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// The open model's schedule accuracy against the demo target (in a child process):
/// planned vs started iterations at 100, 1,000 and 10,000 per second, and the CPU the
/// scheduler itself spends per iteration (measured with no VU to hand iterations to,
/// so every one is scheduled, found no taker and counted as dropped).
pub(crate) fn arrival_accuracy(rt: &tokio::runtime::Runtime, cache: &Path) {
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
    let gauge = Arc::new(stampede::executor::user::Gauge::default());
    let pool = Arc::new(stampede::executor::arrival::IdlePool::new(
        0,
        0,
        gauge.clone(),
    ));
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
    let n = gauge.dropped();
    let sched = (cpu_time() - c0).as_secs_f64() * 1e6 / n as f64;
    println!(
        "  scheduler alone: {sched:.2} CPU-µs per iteration over {n} ({:.1}% of a whole iteration at 10,000/s)",
        100.0 * sched / total_cpu_per_it
    );
}
