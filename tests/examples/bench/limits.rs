//! What the sandbox's limits (fuel, epochs) cost per request.

use std::path::Path;
use std::time::Duration;

use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// What the sandbox's limits cost on the core loop (fuel metering on vs off; epoch
/// interruption stays on, as without it a spinning guest would hold its thread), and how
/// soon a runaway task is stopped by each limit.
pub(crate) fn limits_cost(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path) {
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
