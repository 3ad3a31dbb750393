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
        Load::stages(stages),
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
            Load::per_vu_iterations(5),
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

/// The real binary with a config of two scenarios: separate metrics, each obeying its
/// own executor and start time, thresholds by scenario, and weighted shares.
#[test]
fn two_scenarios_in_one_run_keep_separate_metrics_and_executors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start_server());
    let dir = scratch_dir("workload-two-scenarios");
    let cfg = dir.join("stampede.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
target = "{target}"

[env]
TASKS = "get"

[scenarios.browse]
scenario = {probe:?}
env = {{ PATH = "/ok", WAIT_MS = "5" }}
tags = {{ team = "web" }}
load = {{ vus = 2, iterations = 30 }}

[scenarios.spike]
scenario = {probe:?}
start_time = "1s"
env = {{ PATH = "/status/201" }}
load = {{ rate = 20, duration = "1s", vus = 2 }}

[thresholds]
"http_reqs{{scenario:browse}}" = ["count==30"]
"iterations{{scenario:spike}}" = ["count==20"]
"http_req_failed{{scenario:spike}}" = ["rate==0"]
"http_reqs{{scenario:nothing}}" = ["count==0"]

[outputs]
summary_json = "out.json"
"#,
            target = server.url(),
            probe = PROBE_WASM
        ),
    )
    .unwrap();
    let out = std::process::Command::new(stampede_bin!())
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("STAMPEDE_CACHE_DIR", dir.join("cache"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // Everything passes but the threshold on a scenario that does not exist.
    assert_eq!(out.status.code(), Some(99), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("[spike] starts 1s into the run"),
        "{stderr}"
    );
    assert!(
        stdout.contains("✓ http_reqs{scenario:browse}: count==30"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ iterations{scenario:spike}: count==20"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "✗ http_reqs{scenario:nothing}: count==0 (no samples: no scenario named \"nothing\")"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("[browse] GET /ok") && stdout.contains("[spike] GET /status/201"),
        "{stdout}"
    );
    let s =
        stampede_tests::summary_from_json(&std::fs::read_to_string(dir.join("out.json")).unwrap())
            .unwrap();
    assert_eq!(s.scenario.name, "browse+spike");
    assert_eq!(s.scenarios.len(), 2);
    let (browse, spike) = (&s.scenarios[0], &s.scenarios[1]);
    assert_eq!(
        (browse.model.as_str(), spike.model.as_str()),
        ("closed", "open")
    );
    assert_eq!(
        browse.scenario.tags.get("team").map(String::as_str),
        Some("web")
    );
    assert_eq!(browse.totals.http_reqs, 30);
    assert_eq!(
        spike.totals.iterations + spike.totals.dropped_iterations,
        20
    );
    assert_eq!(s.totals.http_reqs, server.seen.total());
    assert_eq!(server.seen.path("/ok"), 30);
    assert_eq!(server.seen.path("/status/201"), spike.totals.http_reqs);
    // The spike's requests start at its start time: none in the run's first second.
    assert_eq!(
        spike.series.first().map(|p| p.requests),
        Some(0),
        "{:?}",
        spike.series
    );
    assert!(spike.series.iter().skip(1).map(|p| p.requests).sum::<u64>() >= 19);
    assert_eq!(s.model, "mixed");
    assert_eq!(s.vus_max, 4);
}
