//! The open model: iterations start on schedule whatever the target does; those with no
//! free VU are dropped and counted; latency runs from the scheduled start.

use std::time::Duration;

use stampede::executor::Load;
use stampede::metrics::Summary;
use stampede::run::{StopSignals, run};
use stampede_tests::*;

async fn go(target: &str, vus: u32, load: Load, env: &[(&str, &str)]) -> Summary {
    run(
        config(PROBE_WASM, target, vus, load, env),
        StopSignals::none(),
        |_| {},
    )
    .await
    .unwrap()
}

fn rate(per_sec: f64, secs: u64) -> Load {
    Load::rate(per_sec, Duration::from_secs(secs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constant_rate_starts_rate_times_duration_iterations() {
    let server = start_server().await;
    let s = go(&server.url(), 20, rate(200.0, 2), &[("TASKS", "get")]).await;
    assert_eq!(s.model, "open");
    let planned = 400;
    let started = s.totals.iterations;
    assert!(
        (planned * 99 / 100..=planned * 101 / 100).contains(&started),
        "started {started} of {planned}, dropped {}",
        s.totals.dropped_iterations
    );
    assert_eq!(started + s.totals.dropped_iterations, planned);
    assert_eq!(server.seen.path("/ok"), started);
    // Two seconds of schedule, not more: the rate did not drift.
    assert!(s.duration_s < 3.0, "{}", s.duration_s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_gets_dropped_iterations_not_a_slower_rate() {
    let server = start_server().await;
    // 5 VUs, each busy 500 ms per iteration: at most ~10 iterations/s can start of 100.
    let s = go(
        &server.url(),
        5,
        rate(100.0, 2),
        &[("TASKS", "get"), ("PATH", "/slow/500")],
    )
    .await;
    let t = &s.totals;
    assert_eq!(t.iterations + t.dropped_iterations, 200, "{t:?}");
    assert!(t.dropped_iterations >= 150, "{t:?}");
    assert!(t.iterations >= 10, "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_open_model_percentiles_but_barely_in_closed_ones() {
    // The 100th request pauses the whole server for 1 s.
    let server = start_server().await;
    let env = [
        ("TASKS", "get"),
        ("PATH", "/pause/100/1000"),
        ("NAME", "paused"),
    ];
    let open = go(&server.url(), 150, rate(100.0, 4), &env).await;
    let o = &open.endpoints[0].duration;
    // ~100 iterations were due during the stall; timed from their scheduled start they
    // waited between 0 and 1000 ms: about a quarter of the run's samples.
    assert!(o.p99 >= 700.0, "open p99 {} ms", o.p99);
    assert!(o.p90 >= 200.0, "open p90 {} ms", o.p90);
    assert_eq!(open.totals.dropped_iterations, 0);

    let server = start_server().await;
    let closed = go(
        &server.url(),
        1,
        Load::duration(Duration::from_secs(2)),
        &env,
    )
    .await;
    let c = &closed.endpoints[0].duration;
    // One VU saw one slow request; everything else was fast.
    assert!(c.max >= 900.0, "closed max {} ms", c.max);
    assert!(c.p99 < 100.0, "closed p99 {} ms", c.p99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramping_rate_starts_the_area_under_its_stages() {
    use stampede::executor::RateStage;
    let server = start_server().await;
    let st = |ms, target| RateStage {
        duration: Duration::from_millis(ms),
        target,
    };
    // 0 → 200/s over 1 s (100), hold 200/s for 1 s (200), 200 → 0 over 1 s (100).
    let load = Load::ramping_rate(0.0, vec![st(1000, 200.0), st(1000, 200.0), st(1000, 0.0)]);
    let s = go(&server.url(), 20, load, &[("TASKS", "get")]).await;
    let t = &s.totals;
    assert_eq!(t.iterations + t.dropped_iterations, 400, "{t:?}");
    assert!(t.iterations >= 396, "{t:?}");
    assert_eq!(server.seen.total(), t.iterations);
    // The middle second carries the hold: about half of all iterations.
    let per_second: Vec<u64> = s.series.iter().map(|p| p.iterations).collect();
    let peak = per_second.iter().max().copied().unwrap_or(0);
    assert!((180..=220).contains(&peak), "{per_second:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_max_vus_a_slow_target_gets_more_vus_instead_of_drops() {
    let server = start_server().await;
    // 50/s against 200 ms responses needs about 10 VUs busy at once; 2 are set up and
    // the run may add up to 30.
    let mut cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        rate(50.0, 2),
        &[("TASKS", "get"), ("PATH", "/slow/200")],
    );
    cfg.plan.max_vus = 30;
    let s = run(cfg, StopSignals::none(), |_| {}).await.unwrap();
    let t = &s.totals;
    assert_eq!(t.iterations + t.dropped_iterations, 100, "{t:?}");
    assert!(t.dropped_iterations <= 2, "{t:?}");
    assert!((8..=30).contains(&s.vus_max), "VUs set up: {}", s.vus_max);
    assert_eq!(server.seen.total(), t.iterations);
}
