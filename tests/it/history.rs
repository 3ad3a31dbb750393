//! A baseline history directory end to end through the binary: runs accepted into it,
//! listed and pruned; a same-build run passes, a short run is inconclusive, a slower
//! release fails with 98 and is not accepted, and `compare` reads the same history.

use std::path::Path;

use stampede_demo::{DemoServer, Knobs, serve};
use stampede_tests::*;

use crate::kit::{CliOut, run_cli, timed};

/// A smoke run against the demo, its every route now adding a random latency of this
/// median (so p95s are milliseconds that a busy runner barely moves). One server
/// throughout: the target, and so the runs' fingerprint, stays the same.
async fn run_with_latency(
    demo: &DemoServer,
    dir: &Path,
    median: &str,
    iterations: &str,
    extra: &[&str],
) -> CliOut {
    let knobs = Knobs::parse(&[], &[format!("*={median}")], &[]).unwrap();
    demo.shop.set_knobs(knobs);
    let target = format!("http://{}", demo.addr);
    let history = dir.join("history").to_str().unwrap().to_string();
    let (dir, iterations) = (dir.to_path_buf(), iterations.to_string());
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut args = vec![
            "run",
            SMOKE_WASM,
            "--target",
            &target,
            "--vus",
            "4",
            "--iterations",
            &iterations,
            "--env",
            "WAIT_MIN_MS=0",
            "--env",
            "WAIT_MAX_MS=1",
            "-q",
            "--baseline-dir",
            &history,
            "--baseline-label",
            "feature/main",
            "--baseline-rule",
            "fail: p(95) +50%",
        ];
        args.extend(extra.iter().map(String::as_str));
        run_cli(&args, &dir.join("cache"), &[])
    })
    .await
    .unwrap()
}

fn cli(dir: &Path, args: &[&str]) -> CliOut {
    run_cli(args, &dir.join("cache"), &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_directory_gates_runs_and_keeps_the_accepted_ones() {
    // Its verdicts compare p95s between runs: none of them beside a test that keeps the
    // cores busy (a CI run once saw a baseline's p95 triple under such a neighbour).
    let _room = timed();
    let dir = scratch_dir("history");
    let demo = serve("127.0.0.1:0".parse().unwrap(), Knobs::default())
        .await
        .unwrap();
    let history = dir.join("history");
    let h = history.to_str().unwrap().to_string();

    // The first run has nothing to compare with: it says so, passes, and is accepted.
    let first = run_with_latency(&demo, &dir, "5ms", "400", &["--baseline-accept"]).await;
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("no accepted run yet in ")
            && first.stdout.contains("this run was not compared"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("baseline: added "),
        "{}",
        first.stderr
    );
    for _ in 0..2 {
        let next = run_with_latency(&demo, &dir, "5ms", "400", &["--baseline-accept"]).await;
        assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    }
    let list = cli(&dir, &["baseline", "list", &h]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains("feature-main@"), "{}", list.stdout);
    assert!(list.stdout.contains(" 3 run(s) "), "{}", list.stdout);
    assert_eq!(
        list.stdout.matches(" requests  p(95) ").count(),
        3,
        "{}",
        list.stdout
    );

    // The same build again: compared with 3 runs and their noise, no regression.
    let same = run_with_latency(&demo, &dir, "5ms", "400", &[]).await;
    assert_eq!(same.code, 0, "{}\n{}", same.stdout, same.stderr);
    let line = same
        .stdout
        .lines()
        .find(|l| l.contains("fail: p(95) +50% [overall]"))
        .unwrap_or_else(|| panic!("{}", same.stdout));
    assert!(
        line.contains("over 3 runs") && !line.trim_start().starts_with('✗'),
        "{line}"
    );

    // Too few requests for the rule to judge (the same config, so the same key):
    // inconclusive, said, and not a failure.
    let short = run_with_latency(
        &demo,
        &dir,
        "5ms",
        "400",
        &["--baseline-min-samples", "5000"],
    )
    .await;
    assert_eq!(short.code, 0, "{}\n{}", short.stdout, short.stderr);
    let line = short
        .stdout
        .lines()
        .find(|l| l.contains("fail: p(95) +50% [overall]"))
        .unwrap_or_else(|| panic!("{}", short.stdout));
    assert!(
        line.contains("inconclusive") && line.contains("5000 needed"),
        "{line}"
    );

    // Three times slower: a regression, exit 98, evidence in the HTML, not accepted.
    let html = dir.join("slow.html");
    let json = dir.join("slow.json");
    let slow = run_with_latency(
        &demo,
        &dir,
        "15ms",
        "400",
        &[
            "--baseline-accept",
            "--html",
            html.to_str().unwrap(),
            "--summary-json",
            json.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(slow.code, 98, "{}\n{}", slow.stdout, slow.stderr);
    assert!(
        slow.stderr.contains("did not pass, so it was not added"),
        "{}",
        slow.stderr
    );
    let report = std::fs::read_to_string(&html).unwrap();
    assert!(
        report.contains("Latency distribution against the baseline"),
        "no curves"
    );
    assert!(report.contains(r#"id="chart-curve-0""#) && report.contains("stroke-dasharray"));
    let list = cli(&dir, &["baseline", "list", &h, "--label", "feature/main"]);
    assert!(list.stdout.contains(" 3 run(s) "), "{}", list.stdout);

    // `compare` against the same history agrees; against another label it says why not.
    let j = json.to_str().unwrap();
    let cmp = cli(
        &dir,
        &[
            "compare",
            "--baseline-dir",
            &h,
            "--label",
            "feature/main",
            "--rule",
            "fail: p(95) +50%",
            j,
        ],
    );
    assert_eq!(cmp.code, 98, "{}\n{}", cmp.stdout, cmp.stderr);
    assert!(cmp.stdout.contains("verdict: REGRESSION"), "{}", cmp.stdout);
    let other = cli(
        &dir,
        &["compare", "--baseline-dir", &h, "--label", "release", j],
    );
    assert_eq!(other.code, 2, "{}", other.stdout);
    assert!(
        other.stderr.contains("no run stored for label \"release\""),
        "{}",
        other.stderr
    );

    // `add` takes a summary in by hand; `prune` keeps the newest.
    let add = cli(
        &dir,
        &[
            "baseline",
            "add",
            &h,
            j,
            "--label",
            "feature/main",
            "--keep",
            "10",
        ],
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    assert!(add.stdout.starts_with("added "), "{}", add.stdout);
    let prune = cli(&dir, &["baseline", "prune", &h, "--keep", "2"]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(
        prune.stdout.contains("2 run(s) removed"),
        "{}",
        prune.stdout
    );
    let list = cli(&dir, &["baseline", "list", &h]);
    assert!(list.stdout.contains(" 2 run(s) "), "{}", list.stdout);

    // A file in the history that is not a summary is named, not skipped.
    let key = std::fs::read_dir(&history)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(key.join("9999999999999.json"), "{").unwrap();
    let broken = run_with_latency(&demo, &dir, "5ms", "400", &[]).await;
    assert_ne!(broken.code, 0, "{}", broken.stdout);
    assert!(
        broken.stdout.contains("9999999999999.json")
            && broken.stdout.contains("not a stampede summary"),
        "{}",
        broken.stdout
    );
}
