//! The Go SDK's garbage-collection handling. Go's collector can run inside cabi_realloc
//! while the host copies a result into the guest, and trap there; the SDK turns the
//! automatic collector off and collects between calls. Thousands of large responses
//! must run clean, and the control (automatic GC back on) shows the trap it prevents.

use stampede::executor::Load;
use stampede::run::{StopSignals, run};
use stampede_tests::*;

const SIZE: &str = "262144";

async fn big_bodies(
    iterations: u64,
    env: &[(&str, &str)],
) -> (stampede::metrics::summary::Summary, u64) {
    let server = start_server().await;
    let mut all = vec![("SIZE", SIZE)];
    all.extend_from_slice(env);
    let cfg = config(
        GO_GC_WASM,
        &server.url(),
        4,
        Load::iterations(iterations),
        &all,
    );
    let s = run(cfg, StopSignals::none(), |_| {})
        .await
        .expect("run succeeds");
    (s, server.seen.path("/big/262144"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_large_responses_run_without_a_trap() {
    let (s, seen) = big_bodies(4000, &[]).await;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.totals.iterations, 4000);
    assert_eq!(s.totals.iterations_failed, 0);
    assert_eq!((s.totals.checks_passed, s.totals.checks_failed), (4000, 0));
    assert_eq!(seen, 4000);
    // A gigabyte went through the guests' memory.
    assert!(s.totals.data_received >= 4000 * 262_144);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_gc_traps_and_the_run_goes_on() {
    let (s, _) = big_bodies(2000, &[("AUTO_GC", "1")]).await;
    let traps: u64 = s
        .errors
        .iter()
        .filter(|e| e.message.contains("cannot leave component instance"))
        .map(|e| e.count)
        .sum();
    assert!(traps > 0, "the control did not trap: {:?}", s.errors);
    // Each trap failed one iteration; the VU was re-instantiated and the run went on.
    assert_eq!(s.totals.iterations, 2000);
    assert_eq!(s.totals.iterations_failed, traps);
}

/// gofmt and go vet over the SDK, the Go plugin and the fixture (Go from the project's
/// virtualenv, which the build script made).
#[test]
fn go_sources_are_formatted_and_vetted() {
    let root = stampede_tests::repo_root();
    let venv = root.join("target/toolchains/venv");
    let go = venv.join("bin/go");
    let out = std::process::Command::new(&go)
        .args(["env", "GOROOT"])
        .output()
        .expect("go runs");
    let gofmt =
        std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/gofmt");
    let out = std::process::Command::new(gofmt)
        .arg("-l")
        .args([
            "sdk/go",
            "plugins/file-upload-go",
            "tests/fixtures/go-gc",
            "host/cli/src/scaffold/templates/go",
        ])
        .current_dir(&root)
        .output()
        .expect("gofmt runs");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "gofmt would change: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for dir in ["plugins/file-upload-go", "tests/fixtures/go-gc"] {
        let out = std::process::Command::new(&go)
            .args([
                "vet",
                ".",
                "stampede.dev/sdk/stampede",
                "stampede.dev/sdk/exports/export_stampede_scenario_user",
            ])
            .current_dir(root.join(dir))
            .envs([
                ("GOOS", "wasip1"),
                ("GOARCH", "wasm"),
                ("GOPROXY", "off"),
                ("GOFLAGS", "-mod=mod"),
                ("GOTOOLCHAIN", "local"),
                ("GOWORK", "off"),
            ])
            .output()
            .expect("go vet runs");
        assert!(
            out.status.success(),
            "go vet in {dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_go_compile_error_is_one_line() {
    let root = stampede_tests::repo_root();
    let dir = stampede_tests::scratch_dir("go-build-error");
    let go_mod = std::fs::read_to_string(root.join("plugins/smoke-go/go.mod"))
        .unwrap()
        .replace("../../sdk/go", root.join("sdk/go").to_str().unwrap());
    std::fs::write(dir.join("go.mod"), go_mod).unwrap();
    std::fs::write(
        dir.join("main.go"),
        "package main\n\nfunc main() { undefinedThing() }\n",
    )
    .unwrap();
    let out = std::process::Command::new(root.join("target/toolchains/venv/bin/python"))
        .arg(root.join("sdk/go/build.py"))
        .arg(&dir)
        .arg("-o")
        .arg(dir.join("out.wasm"))
        .arg("--adapter")
        .arg(root.join("target/toolchains/wasi_snapshot_preview1.reactor.wasm"))
        .output()
        .expect("python runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("go build failed: ./main.go:3:15: undefined: undefinedThing"),
        "{err}"
    );
}

/// The Go SDK's feeder and per-request trace context: each VU its own row of users.csv,
/// sent with a sampled traceparent; a request marked NoTrace goes without one even
/// though the run adds trace context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_feeders_and_trace_context_per_request() {
    let server = start_server().await;
    let dir = scratch_dir("go-data");
    std::fs::write(dir.join("users.csv"), "user,pw\nu0,a\nu1,b\nu2,c\nu3,d\n").unwrap();
    let mut cfg = config(
        GO_GC_WASM,
        &server.url(),
        3,
        Load::per_vu_iterations(3),
        &[("MODE", "data")],
    );
    cfg.data = Some(std::sync::Arc::new(stampede::data::DataSet::new(
        stampede::data::DataDir::open(&dir, 1 << 20, "--data").unwrap(),
        None,
    )));
    cfg.trace_context = Some(false);
    let s = run(cfg, StopSignals::none(), |_| {})
        .await
        .expect("run succeeds");
    assert_eq!(
        (s.totals.iterations, s.totals.iterations_failed),
        (9, 0),
        "{:?}",
        s.errors
    );
    let echoes = server.seen.echoes.lock().unwrap().clone();
    let mut users = std::collections::BTreeSet::new();
    for e in &echoes {
        let t = e.header("traceparent").unwrap_or("");
        if let Some(u) = e.path.strip_prefix("/echo/go/") {
            users.insert(u.to_string());
            assert!(t.ends_with("-01"), "{}: {t:?}", e.path);
        } else {
            assert_eq!((e.path.as_str(), t), ("/echo/go-off", ""));
        }
    }
    assert_eq!(echoes.len(), 18);
    // VU ids 1-3: rows 0-2, never row 3.
    assert_eq!(users.into_iter().collect::<Vec<_>>(), ["u0", "u1", "u2"]);
}
