//! The release gate end to end: the real binary against the demo target, with its
//! knobs making a release "regress".

use stampede_demo::{Knobs, serve};
use stampede_tests::*;

use crate::kit::{CliOut, run_cli, timed};

fn stampede(args: &[&str], dir: &std::path::Path) -> CliOut {
    run_cli(args, &dir.join("cache"), &[])
}

fn smoke_args<'a>(target: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "run",
        SMOKE_WASM,
        "--target",
        target,
        "--vus",
        "4",
        "--iterations",
        "40",
        "--env",
        "WAIT_MIN_MS=0",
        "--env",
        "WAIT_MAX_MS=1",
        "-q",
    ];
    v.extend_from_slice(extra);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_release_passes_its_gate() {
    let demo = serve("127.0.0.1:0".parse().unwrap(), Knobs::default())
        .await
        .unwrap();
    let target = format!("http://{}", demo.addr);
    let dir = scratch_dir("gate-pass");
    let junit = dir.join("junit.xml");
    let md = dir.join("summary.md");
    let (j, m) = (
        junit.to_str().unwrap().to_string(),
        md.to_str().unwrap().to_string(),
    );
    let out = tokio::task::spawn_blocking(move || {
        stampede(
            &smoke_args(
                &target,
                &[
                    "--threshold",
                    "http_req_duration{name:POST /api/v1/auth/login}: p(95)<250ms",
                    "--threshold",
                    "http_req_failed: rate<0.01",
                    "--threshold",
                    "checks: rate>0.99",
                    "--junit",
                    &j,
                    "--markdown",
                    &m,
                ],
            ),
            &dir,
        )
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("verdict: PASSED (3 thresholds)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("✓ http_req_failed: rate<0.01 (observed 0)"),
        "{}",
        out.stdout
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert!(!xml.contains("<failure"));
    assert!(xml.contains(r#"tests="3" failures="0""#));
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("✅ PASSED (3 thresholds)") && md.contains("| `POST /api/v1/auth/login` |"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slower_login_fails_the_gate_with_exit_99() {
    let knobs = Knobs::parse(&["POST /api/v1/auth/login=300ms".into()], &[], &[]).unwrap();
    let demo = serve("127.0.0.1:0".parse().unwrap(), knobs).await.unwrap();
    let target = format!("http://{}", demo.addr);
    let dir = scratch_dir("gate-fail");
    let junit = dir.join("junit.xml");
    let j = junit.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        stampede(
            &smoke_args(
                &target,
                &[
                    "--threshold",
                    "http_req_duration{name:POST /api/v1/auth/login}: p(95)<100ms",
                    "--threshold",
                    "http_req_failed: rate<0.01",
                    "--threshold",
                    "http_req_duration{name:GET /no/such/route}: p(95)<100",
                    "--junit",
                    &j,
                ],
            ),
            &dir,
        )
    })
    .await
    .unwrap();
    assert_eq!(out.code, 99, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("verdict: FAILED: 2 of 3 thresholds failed"),
        "{}",
        out.stdout
    );
    // The observed p95 reflects the injected 300 ms.
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("✗ http_req_duration{name:POST /api/v1/auth/login}"))
        .unwrap();
    let observed: f64 = line
        .rsplit("observed ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .trim_end_matches("ms")
        .parse()
        .unwrap();
    assert!((300.0..400.0).contains(&observed), "{line}");
    assert!(
        out.stdout
            .contains("(no samples: no request named \"GET /no/such/route\")")
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(xml.contains(r#"tests="3" failures="2""#));
}

#[test]
fn a_bad_threshold_is_a_configuration_error() {
    let dir = scratch_dir("gate-bad");
    let out = stampede(
        &[
            "run",
            SMOKE_WASM,
            "--threshold",
            "http_req_duration: p95<500",
        ],
        &dir,
    );
    assert_eq!(out.code, 2);
    let last = out.stderr.lines().last().unwrap_or("");
    assert!(
        last.contains(
            "--threshold: threshold \"http_req_duration: p95<500\": unknown aggregation \"p95\""
        ),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regression_against_the_baseline_exits_98_and_compare_agrees() {
    // Its verdicts compare p95s between runs: none of them beside a busy neighbour.
    let _room = timed();
    let dir = scratch_dir("gate-baseline");
    let base_json = dir.join("base.json");
    let cur_json = dir.join("cur.json");
    let junit = dir.join("junit.xml");
    let run_against = |knobs: Knobs, extra: Vec<String>| {
        let dir = dir.clone();
        async move {
            let demo = serve("127.0.0.1:0".parse().unwrap(), knobs).await.unwrap();
            let target = format!("http://{}", demo.addr);
            tokio::task::spawn_blocking(move || {
                let mut args = smoke_args(&target, &[]);
                // Enough requests on both sides for the rules to apply.
                let i = args.iter().position(|a| *a == "40").unwrap();
                args[i] = "300";
                let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
                args.extend_from_slice(&extra);
                stampede(&args, &dir)
            })
            .await
            .unwrap()
        }
    };
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let base = run_against(
        Knobs::default(),
        vec!["--summary-json".into(), s(&base_json)],
    )
    .await;
    assert_eq!(base.code, 0, "{}", base.stderr);
    let base2_json = dir.join("base2.json");
    let base2 = run_against(
        Knobs::default(),
        vec!["--summary-json".into(), s(&base2_json)],
    )
    .await;
    assert_eq!(base2.code, 0, "{}", base2.stderr);
    // The same release again, against both earlier runs: no regression, and their
    // spread is the noise the intervals allow for.
    let same = run_against(
        Knobs::default(),
        vec![
            "--baseline".into(),
            s(&base_json),
            "--baseline".into(),
            s(&base2_json),
            "--baseline-rule".into(),
            "fail: error_rate +0.5pp".into(),
            // Sub-millisecond latencies on a busy runner vary past any limit from run
            // to run: the p95 rule here only shows the noise it learned.
            "--baseline-rule".into(),
            "warn: p(95) +20%".into(),
        ],
    )
    .await;
    assert_eq!(same.code, 0, "{}", same.stdout);
    let p95 = same
        .stdout
        .lines()
        .find(|l| l.contains("warn: p(95) +20% [overall]"))
        .unwrap_or_else(|| panic!("{}", same.stdout));
    assert!(
        p95.contains("% CI ") && p95.contains("over 2 runs"),
        "{p95}"
    );
    let errors = same
        .stdout
        .lines()
        .find(|l| l.contains("fail: error_rate +0.5pp [overall]"))
        .unwrap_or_else(|| panic!("{}", same.stdout));
    assert!(errors.contains("pooled over 2 baseline runs"), "{errors}");
    // Every request 20 ms slower: p95 far past +20%.
    let slow = Knobs::parse(
        &[
            "GET /api/v1/products=20ms".into(),
            "GET /api/v1/products/{sku}=20ms".into(),
            "GET /api/v1/users/me=20ms".into(),
        ],
        &[],
        &[],
    )
    .unwrap();
    let cur = run_against(
        slow,
        vec![
            "--baseline".into(),
            s(&base_json),
            "--summary-json".into(),
            s(&cur_json),
            "--junit".into(),
            s(&junit),
            "--markdown".into(),
            s(&dir.join("summary.md")),
        ],
    )
    .await;
    assert_eq!(cur.code, 98, "{}\n{}", cur.stdout, cur.stderr);
    let line = cur
        .stdout
        .lines()
        .find(|l| l.contains("fail: p(95) +20% [GET /api/v1/products]"))
        .unwrap_or_else(|| panic!("{}", cur.stdout));
    assert!(
        line.trim_start().starts_with('✗') && line.contains("baseline "),
        "{line}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"classname="stampede smoke.baseline""#) && xml.contains("<failure "),
        "{xml}"
    );

    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.contains("❌ FAILED: ") && md.contains("| ❌ | `fail: p(95) +20%` | `overall` |"),
        "{md}"
    );

    let cmp = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || stampede(&["compare", &s(&base_json), &s(&cur_json)], &dir)
    })
    .await
    .unwrap();
    assert_eq!(cmp.code, 98, "{}", cmp.stdout);
    assert!(cmp.stdout.contains("verdict: REGRESSION"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_on_fail_stops_a_regressed_run_early_and_still_reports() {
    // Every product listing takes 150 ms: a p(95)<100ms gate is lost in the first
    // seconds, long before the 60 s the run would otherwise take.
    let knobs = Knobs::parse(&["GET /api/v1/products=150ms".into()], &[], &[]).unwrap();
    let demo = serve("127.0.0.1:0".parse().unwrap(), knobs).await.unwrap();
    let dir = scratch_dir("gate-abort");
    let cfg = dir.join("stampede.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
scenario = {SMOKE_WASM:?}
target = "http://{}"

[load]
vus = 4
duration = "60s"

[env]
WAIT_MIN_MS = "10"
WAIT_MAX_MS = "20"

[thresholds]
http_req_duration = [{{ threshold = "p(95)<100", abort_on_fail = true, delay_abort_eval = "1s" }}]
checks = ["rate>0.5"]

[outputs]
summary_json = "summary.json"
html = "report.html"
"#,
            demo.addr
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let run_dir = dir.clone();
    let out = tokio::task::spawn_blocking(move || stampede(&["run", "--config", &c], &run_dir))
        .await
        .unwrap();
    assert_eq!(out.code, 99, "{}\n{}", out.stdout, out.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the abort cut the 60 s run short"
    );
    assert!(
        out.stderr
            .contains("threshold http_req_duration: p(95)<100ms lost"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("run cut short: aborted at"),
        "{}",
        out.stdout
    );
    let judged = stampede::gate::Judged::from_json(
        &std::fs::read_to_string(dir.join("summary.json")).unwrap(),
    )
    .unwrap();
    let s = &judged.summary;
    assert!(s.aborted.is_some() && s.interrupted.is_none());
    assert!(s.duration_s < 30.0, "{}", s.duration_s);
    assert!(s.totals.http_reqs > 0);
    assert!(
        judged
            .verdict
            .as_ref()
            .is_some_and(|v| !v.passed && v.exit_code == 99)
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("Run cut short: aborted at"),
        "the report is written too"
    );
}
