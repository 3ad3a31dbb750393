//! Time to instantiate VUs from a warm compile cache.

use std::path::Path;
use std::time::Instant;

use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// Instantiation from a warm cache: engine + cached component + InstancePre + 1,000
/// instances (each with its setup call), timed by a run whose VUs start and stop.
pub(crate) fn instantiation(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path) {
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
