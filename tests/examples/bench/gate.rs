//! The noise-aware gate on this machine (`BENCH_ONLY=gate`). Two demo targets run side
//! by side: A, whose every route adds a log-normal latency of median 10 ms, and B, the
//! same 20% slower at every percentile. Runs of the smoke journey alternate between
//! them (so both meet the same drift of the machine), and the gate's statistics judge:
//!
//! - A/A: each A run against the history of the A runs before it (up to 10, at least
//!   3): a failure is a false alarm;
//! - A/B: each B run against the A runs so far: a failure is a detection;
//!
//! for the rule limits +0%, +10% and +20% on the overall p95, and for run lengths read
//! from the same runs' first 2, 5, 10 and 20 seconds (their per-second histograms).

use std::path::Path;
use std::time::Duration;

use stampede::executor::Load;
use stampede::gate::stats::{self, Decision, Estimate, Noise};
use stampede::metrics::Summary;
use stampede::metrics::trend::Trend;
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// Iterations (requests) per second of each run.
const RATE: f64 = 100.0;
/// Run lengths judged, seconds; the runs last the longest.
const LENGTHS: [u32; 4] = [2, 5, 10, 20];
/// Rule limits on the p95's change, percent.
const LIMITS: [f64; 3] = [0.0, 10.0, 20.0];
/// Past runs a history keeps, and the fewest a judgement needs.
const KEEP: usize = 10;
const FEWEST: usize = 3;

/// The p95 of the first `secs` seconds of a run, with its sampling uncertainty.
fn p95_of_first(s: &Summary, secs: u32) -> Option<Estimate> {
    let mut t = Trend::new();
    for p in s.series.iter().filter(|p| p.t < secs) {
        t.merge(&p.duration.as_ref()?.trend().ok()?);
    }
    stats::quantile(&t, 95.0)
}

fn judge(history: &[Estimate], cur: &Estimate, limit: f64) -> (Decision, f64) {
    let (base, noise): (Estimate, Option<Noise>) = stats::baseline(history).expect("runs");
    let iv = stats::relative_change(&base, cur, noise, 0.95);
    (
        stats::decide(&iv, limit),
        stats::detectable(&base, cur, noise, 0.95),
    )
}

pub(crate) fn gate_figures(cache: &Path) {
    let pairs: usize = std::env::var("BENCH_GATE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let secs = *LENGTHS.last().expect("lengths");
    let (mut a_demo, a_addr) = start_child_with("--serve-demo", &[("BENCH_DEMO_LATENCY", "10ms")]);
    let (mut b_demo, b_addr) =
        start_child_with("--serve-demo", &[("BENCH_DEMO_LATENCY", "12300us")]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "gate: {pairs} A and {pairs} B runs of the smoke journey at {RATE} it/s for {secs}s, alternating (A: latency median 10 ms; B: 12.3 ms, about +20% at the p95 with the target's own time)"
    );
    let one = |addr: &str| {
        let mut cfg = stampede_tests::config(
            stampede_tests::SMOKE_WASM,
            &format!("http://{addr}"),
            20,
            Load::rate(RATE, Duration::from_secs(secs as u64)),
            &[("WAIT_MIN_MS", "0"), ("WAIT_MAX_MS", "0")],
        );
        cfg.plan.max_vus = 100;
        cfg.cache_dir = Some(cache.to_path_buf());
        rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap()
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..pairs {
        a.push(one(&a_addr));
        b.push(one(&b_addr));
        let p = |s: &Summary| s.http_req_duration.p95;
        println!(
            "  pair {:>2}: A p95 {:.2} ms ({} requests), B p95 {:.2} ms ({} requests)",
            i + 1,
            p(&a[i]),
            a[i].totals.http_reqs,
            p(&b[i]),
            b[i].totals.http_reqs
        );
    }
    let _ = (a_demo.kill(), b_demo.kill());
    let mean =
        |v: &[Summary]| v.iter().map(|s| s.http_req_duration.p95).sum::<f64>() / v.len() as f64;
    println!(
        "  measured: B's p95 / A's p95 = {:.3} (means of {pairs} runs each)",
        mean(&b) / mean(&a)
    );
    println!(
        "  length  limit   A/A false failures   A/B detected   A/B inconclusive   detectable (median)"
    );
    for len in LENGTHS {
        let ea: Vec<Estimate> = a.iter().filter_map(|s| p95_of_first(s, len)).collect();
        let eb: Vec<Estimate> = b.iter().filter_map(|s| p95_of_first(s, len)).collect();
        for limit in LIMITS {
            let (mut aa, mut aa_n, mut ab, mut ab_inc, mut ab_n) = (0, 0, 0, 0, 0);
            let mut detectable = Vec::new();
            for i in FEWEST..ea.len() {
                let history = &ea[i.saturating_sub(KEEP)..i];
                aa_n += 1;
                aa += usize::from(judge(history, &ea[i], limit).0 == Decision::Past);
            }
            for (i, cur) in eb.iter().enumerate() {
                // The A runs up to this pair's.
                let upto = (i + 1).min(ea.len());
                if upto < FEWEST {
                    continue;
                }
                let history = &ea[upto.saturating_sub(KEEP)..upto];
                let (d, det) = judge(history, cur, limit);
                ab_n += 1;
                ab += usize::from(d == Decision::Past);
                ab_inc += usize::from(d == Decision::Inconclusive);
                detectable.push(det);
            }
            detectable.sort_by(f64::total_cmp);
            let median = detectable
                .get(detectable.len() / 2)
                .copied()
                .unwrap_or(f64::NAN);
            let pct = |k: usize, n: usize| 100.0 * k as f64 / n.max(1) as f64;
            println!(
                "  {len:>4}s  {limit:>+4.0}%   {aa:>3} of {aa_n:<3} ({:>4.1}%)     {ab:>3} of {ab_n:<3} ({:>5.1}%)   {ab_inc:>3}               ±{median:.1}%",
                pct(aa, aa_n),
                pct(ab, ab_n)
            );
        }
    }
}
