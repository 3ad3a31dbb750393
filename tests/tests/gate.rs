//! The release gate end to end: the real binary against the demo target, with its
//! knobs making a release "regress".

use std::process::Command;

use stampede::demo::{Knobs, serve};
use stampede_tests::*;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn stampede(args: &[&str], dir: &std::path::Path) -> Out {
    let o = Command::new(stampede_bin!())
        .args(args)
        .env("STAMPEDE_CACHE_DIR", dir.join("cache"))
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
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
        md.contains("✅ passed") && md.contains("| `POST /api/v1/auth/login` |"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slower_login_fails_the_gate_with_exit_99() {
    let knobs = Knobs::parse(&["POST /api/v1/auth/login=300ms".into()], &[]).unwrap();
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
        out.stdout.contains("verdict: FAILED (2 of 3 thresholds)"),
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
