//! Bad input through the real binary: one clear line naming the problem, exit code 2,
//! never a panic.

use std::process::Command;

use stampede_tests::*;

fn stampede(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(stampede_bin!())
        .args(args)
        .env("STAMPEDE_CACHE_DIR", scratch_dir("cli-cache"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_error(args: &[&str], expected: &str) {
    let (code, _out, err) = stampede(args);
    assert_eq!(code, 2, "exit code for {args:?}: stderr {err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.last().copied().unwrap_or("");
    assert!(last.contains(expected), "expected {expected:?} in {err:?}");
}

#[test]
fn a_file_that_is_not_wasm() {
    let dir = scratch_dir("cli-not-wasm");
    let f = dir.join("checkout.wasm");
    std::fs::write(&f, "console.log('hi')").unwrap();
    assert_one_line_error(
        &["run", f.to_str().unwrap(), "--target", "http://127.0.0.1:9"],
        "checkout.wasm: not a WebAssembly file",
    );
}

#[test]
fn a_core_module_instead_of_a_component() {
    let dir = scratch_dir("cli-core");
    let f = dir.join("core.wasm");
    // The smallest valid core module: magic and version 1.
    std::fs::write(&f, b"\0asm\x01\0\0\0").unwrap();
    assert_one_line_error(
        &["run", f.to_str().unwrap()],
        "is a core WebAssembly module, not a component",
    );
}

#[test]
fn a_truncated_component() {
    let dir = scratch_dir("cli-truncated");
    let f = dir.join("broken.wasm");
    let bytes = std::fs::read(PROBE_WASM).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    assert_one_line_error(
        &["run", f.to_str().unwrap()],
        "broken.wasm: not a valid WebAssembly component",
    );
}

#[test]
fn a_component_without_the_scenario_exports() {
    assert_one_line_error(
        &["run", NOT_A_SCENARIO_WASM],
        "does not export the stampede:scenario/user interface",
    );
}

#[test]
fn a_scenario_built_against_an_older_wit() {
    assert_one_line_error(
        &["run", OLD_WIT_WASM],
        "was built against another version of the stampede:scenario WIT",
    );
}

#[test]
fn a_missing_file() {
    assert_one_line_error(
        &["run", "/nonexistent/x.wasm"],
        "scenario /nonexistent/x.wasm: cannot read the file",
    );
}

#[test]
fn bad_flags() {
    assert_one_line_error(
        &["run", PROBE_WASM, "--target", "staging.example.com"],
        "--target \"staging.example.com\": not an absolute URL",
    );
    assert_one_line_error(
        &["run", PROBE_WASM, "--target", "ftp://127.0.0.1/"],
        "must be an http:// or https:// URL",
    );
    assert_one_line_error(
        &["run", PROBE_WASM, "--env", "NOEQUALS"],
        "--env \"NOEQUALS\": expected KEY=VALUE",
    );
    assert_one_line_error(&["run", PROBE_WASM, "--vus", "0"], "--vus 0");
    let (code, _, err) = stampede(&["run", PROBE_WASM, "--duration", "3x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is not a duration") && err.contains("30s"),
        "{err}"
    );
}

#[test]
fn run_writes_the_summary_json() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start_server());
    let dir = scratch_dir("cli-json");
    let json = dir.join("summary.json");
    let (code, out, err) = stampede(&[
        "run",
        PROBE_WASM,
        "--target",
        &server.url(),
        "--vus",
        "2",
        "--iterations",
        "30",
        "--env",
        "TASKS=get",
        "--summary-json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("GET /ok") && out.contains("http_reqs"),
        "{out}"
    );
    let s = stampede_tests::summary_from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(s.totals.http_reqs, 30);
    assert_eq!(server.seen.path("/ok"), 30);
    drop(server);
}

#[test]
fn guest_output_goes_to_the_rate_limited_log() {
    // No request is made: a target so the run may start, and failures allowed so the
    // default gate (which fails a run with no requests) does not judge it.
    let (code, out, err) = stampede(&[
        "run",
        PROBE_WASM,
        "--target",
        "http://127.0.0.1:9",
        "--allow-failures",
        "--env",
        "TASKS=chatty",
        "--iterations",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines = err
        .lines()
        .filter(|l| l.starts_with("[probe vu 1 stdout] line "))
        .count();
    assert_eq!(lines, 20, "{err}");
    assert!(
        out.contains("80 scenario log lines were suppressed"),
        "{out}"
    );
}

#[test]
fn the_readme_demo_runs_and_passes_its_gate() {
    let (code, out, err) = stampede(&["demo", "--duration", "1s", "--vus", "4"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The checkout journey: each user logs in and opens a cart before its tasks.
    assert!(out.contains("scenario bundled:checkout"), "{out}");
    assert!(out.contains("POST /api/v1/auth/login"), "{out}");
    assert!(out.contains("POST /api/v1/carts "), "{out}");
    assert!(out.contains("verdict: PASSED (3 thresholds)"), "{out}");
}

#[test]
fn a_config_file_holds_the_run_and_flags_override_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start_server());
    let dir = scratch_dir("cli-config");
    let cfg = dir.join("stampede.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
scenario = {probe:?}
target = "{target}"

[load]
vus = 2
duration = "30s"

[env]
TASKS = "get"
PATH = "/status/404"

[thresholds]
"http_reqs{{name:GET /ok}}" = ["count==6"]

[outputs]
summary_json = "out.json"
"#,
            probe = PROBE_WASM,
            target = server.url()
        ),
    )
    .unwrap();
    // The file's env and threshold apply; --iterations replaces its duration and
    // --env its PATH; the summary lands beside the file.
    let (code, out, err) = stampede(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--iterations",
        "6",
        "--env",
        "PATH=/ok",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("shared-iterations: 2 VUs sharing 6 iterations"),
        "{err}"
    );
    assert!(out.contains("✓ http_reqs{name:GET /ok}: count==6"), "{out}");
    let s =
        stampede_tests::summary_from_json(&std::fs::read_to_string(dir.join("out.json")).unwrap())
            .unwrap();
    assert_eq!((s.totals.iterations, server.seen.path("/ok")), (6, 6));

    // A threshold flag on the same metric and tag replaces the file's.
    let (code, out, _) = stampede(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--iterations",
        "6",
        "--env",
        "PATH=/ok",
        "--threshold",
        "http_reqs{name:GET /ok}: count==7",
    ]);
    assert_eq!(code, 99, "{out}");
    assert!(out.contains("✗ http_reqs{name:GET /ok}: count==7"), "{out}");
    assert!(!out.contains("count==6"), "{out}");
}

#[test]
fn a_bad_config_file_names_the_file_line_and_key() {
    let dir = scratch_dir("cli-bad-config");
    let cfg = dir.join("stampede.toml");
    let c = cfg.to_str().unwrap();
    std::fs::write(
        &cfg,
        "scenario = \"x.wasm\"\n\n[load]\nvus = 2\nduraton = \"1s\"\n",
    )
    .unwrap();
    assert_one_line_error(
        &["run", "--config", c],
        &format!("{c}:5: load.duraton: unknown field `duraton`, expected one of"),
    );
    std::fs::write(
        &cfg,
        "[thresholds]\nhttp_req_failed = [\"rate<0.01\"]\nhttp_req_duration = [\"p(95)<<5\"]\n",
    )
    .unwrap();
    assert_one_line_error(
        &["run", "--config", c],
        &format!("{c}:3: thresholds.http_req_duration: threshold \"http_req_duration: p(95)<<5\""),
    );
    std::fs::write(&cfg, "[load]\nvus = 2\n").unwrap();
    assert_one_line_error(
        &["run", "--config", c],
        "no scenario: pass one (stampede run checkout.wasm) or set `scenario = \"checkout.wasm\"`",
    );
    std::fs::write(
        &cfg,
        format!("scenario = {PROBE_WASM:?}\n[load]\nrate = 5.0\n"),
    )
    .unwrap();
    assert_one_line_error(&["run", "--config", c], "--rate needs --duration");
    assert_one_line_error(
        &["run", "--config", "/nonexistent/stampede.toml"],
        "--config /nonexistent/stampede.toml: cannot read",
    );
}

#[test]
fn progress_goes_to_ci_logs_as_plain_lines() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start_server());
    let (code, out, err) = stampede(&[
        "run",
        PROBE_WASM,
        "--target",
        &server.url(),
        "--vus",
        "2",
        "--duration",
        "3s",
        "--env",
        "TASKS=get",
        "--env",
        "WAIT_MS=10",
    ]);
    assert_eq!(code, 0, "{err}");
    // Not a terminal: whole lines (no carriage returns), about one per second here.
    assert!(!err.contains('\r'), "{err:?}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("s/3s [")).collect();
    assert!(lines.len() >= 2, "{err}");
    assert!(
        lines[0].contains("2 VUs") && lines[0].contains("req/s") && lines[0].contains("p95"),
        "{err}"
    );
    assert!(
        out.contains("http_reqs"),
        "the summary follows on stdout: {out}"
    );
}

#[test]
fn language_names_users_type_are_accepted() {
    for (lang, file) in [
        ("py", "scenario.py"),
        ("ts", "scenario.js"),
        ("golang", "main.go"),
        ("rs", "src/lib.rs"),
    ] {
        let dir = scratch_dir(&format!("new-{lang}")).join("proj");
        let (code, _, err) = stampede(&[
            "new",
            "proj",
            "--lang",
            lang,
            "--dir",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "--lang {lang}: {err}");
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            !text.contains("seed"),
            "--lang {lang}: {file} speaks of the seed"
        );
    }
}
