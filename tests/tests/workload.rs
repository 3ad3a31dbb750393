//! Closed-model executors: ramping stages and per-VU iterations, judged by what the
//! live VU gauge recorded and by what the server saw.

use std::time::Duration;

use stampede::executor::{Load, Stage};
use stampede::run::{Progress, StopSignals, run};
use stampede_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_stages_reach_each_count_on_time_and_lose_no_iteration() {
    let server = start_server().await;
    let stage = |ms, target| Stage {
        duration: Duration::from_millis(ms),
        target,
    };
    let stages = vec![stage(1000, 4), stage(1000, 4), stage(1000, 0)];
    let mut cfg = config(
        PROBE_WASM,
        &server.url(),
        4,
        Load::Stages(stages),
        &[("TASKS", "get"), ("WAIT_MS", "20")],
    );
    cfg.plan.graceful_stop = Duration::from_secs(5);
    let mut live = Vec::new();
    let s = run(cfg, StopSignals::none(), |p| {
        if let Progress::Live(st) = p {
            live.push(st);
        }
    })
    .await
    .unwrap();
    // Once a second the run reports its figures so far, the plan's length and VUs.
    assert!(live.len() >= 2, "{live:?}");
    assert!(
        live.windows(2)
            .all(|w| w[0].elapsed < w[1].elapsed && w[0].live.requests <= w[1].live.requests)
    );
    assert!(
        live.iter()
            .all(|l| l.planned == Some(Duration::from_secs(3)))
    );
    assert!(
        live.iter().any(|l| l.vus == 4 && l.live.p95_ms > 0.0),
        "{live:?}"
    );
    let vus: Vec<u32> = s.series.iter().map(|p| p.vus).collect();
    // Sampled at the end of each second: the hold stage (1 s..2 s) has all four.
    assert_eq!(vus.get(1), Some(&4), "VU gauge per second: {vus:?}");
    assert_eq!(vus.iter().max(), Some(&4), "{vus:?}");
    // By the end of the ramp down (3 s) at most the last VU finishing its iteration.
    assert!(vus.get(2).is_some_and(|v| *v <= 1), "{vus:?}");
    assert_eq!(s.vus_max, 4);
    // Every iteration sends one request: a ramp down that cut iterations short would
    // leave requests without a recorded iteration.
    assert_eq!(s.totals.iterations_failed, 0, "{:?}", s.errors);
    assert_eq!(s.totals.iterations, server.seen.total());
    assert_eq!(s.totals.http_reqs, server.seen.total());
    // Four VUs for about two seconds at ~20 ms a loop: well over the one VU's share.
    assert!(s.totals.iterations > 100, "{}", s.totals.iterations);
    assert!(
        s.duration_s < 4.5,
        "the run ends with its stages: {}",
        s.duration_s
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_vu_iterations_give_each_vu_its_share() {
    let server = start_server().await;
    let s = run(
        config(
            PROBE_WASM,
            &server.url(),
            3,
            Load::PerVuIterations(5),
            &[("TASKS", "get")],
        ),
        StopSignals::none(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(s.totals.iterations, 15);
    assert_eq!(server.seen.total(), 15);
}
