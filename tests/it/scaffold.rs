//! `stampede new` for every language: the project is created, built with its one
//! command (which installs what it needs from the package registries), and run with
//! its own stampede.toml against the demo shop, passing its gate.

use std::path::Path;
use std::process::{Command, Stdio};

use stampede_demo::{Knobs, get, serve};
use stampede_tests::{scratch_dir, stampede_bin};

/// Runs `cmd` in `dir` with this test's cargo settings removed (a project of its own).
fn sh(dir: &Path, cmd: &[&str]) -> (bool, String) {
    let mut c = Command::new(cmd[0]);
    c.args(&cmd[1..]).current_dir(dir).stdin(Stdio::null());
    // The run compiles with the suite's cache, as a user's runs share theirs.
    c.env("STAMPEDE_CACHE_DIR", stampede_tests::compile_cache());
    for (k, _) in std::env::vars() {
        if (k.starts_with("CARGO_") && k != "CARGO_HOME")
            || k.starts_with("RUSTC")
            || k == "RUSTFLAGS"
            || k == "RUSTDOCFLAGS"
        {
            c.env_remove(k);
        }
    }
    let out = c.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

// The gate is held across awaits on purpose: it orders tests, it guards no data.
#[allow(clippy::await_holding_lock)]
async fn scaffold_build_and_run(lang: &str, build: &[&str]) {
    let _heavy = crate::kit::heavy();
    let name = format!("my-{lang}-flow");
    let dir = scratch_dir(&format!("scaffold-{lang}")).join(&name);
    let bin = stampede_bin!();
    let bin = bin.to_str().unwrap();
    let (ok, out) = sh(
        dir.parent().unwrap(),
        &[
            bin,
            "new",
            &name,
            "--lang",
            lang,
            "--dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(ok, "stampede new: {out}");
    assert!(out.contains(build.join(" ").as_str()), "{out}");
    // Not a second time into the same folder.
    let (again, err) = sh(
        dir.parent().unwrap(),
        &[
            bin,
            "new",
            &name,
            "--lang",
            lang,
            "--dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(!again && err.contains("already exists"), "{err}");

    let (ok, out) = sh(&dir, build);
    assert!(ok, "{lang} build {build:?} failed:\n{out}");

    let demo = serve("127.0.0.1:0".parse().unwrap(), Knobs::default())
        .await
        .unwrap();
    let target = format!("http://{}", demo.addr);
    let summary = dir.join("summary.json");
    let run = [
        bin,
        "run",
        "--target",
        &target,
        "--vus",
        "2",
        "--duration",
        "2s",
        "--env",
        "WAIT_MIN_MS=0",
        "--env",
        "WAIT_MAX_MS=20",
        "-q",
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    // In the project's folder: its stampede.toml names the component and the gate.
    let dir2 = dir.clone();
    let run: Vec<String> = run.iter().map(|s| s.to_string()).collect();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = run.iter().map(String::as_str).collect();
        sh(&dir2, &args)
    })
    .await
    .unwrap();
    assert!(ok, "{lang}: stampede run did not pass its gate:\n{out}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["thresholds"].as_array().map(Vec::len), Some(3), "{out}");
    assert_eq!(s["totals"]["http_req_failed"], 0, "{out}");
    let st = &demo.shop.stats;
    assert_eq!(get(&st.logins), 2, "one login per VU");
    assert!(get(&st.product_lists) > 0 && get(&st.product_views) > 0 && get(&st.me) > 0);
    assert_eq!(s["totals"]["http_reqs"], get(&st.requests));
    // A passing project's folder goes (a JS one holds 400 MB of node_modules); a failing
    // one stays, for a look.
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_scenario_from_stampede_new() {
    scaffold_build_and_run("rust", &["cargo", "build", "--release"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_js_scenario_from_stampede_new() {
    scaffold_build_and_run("js", &["npm", "run", "build"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_scenario_from_stampede_new() {
    scaffold_build_and_run("python", &["python3", "build.py"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_scenario_from_stampede_new() {
    scaffold_build_and_run("go", &["python3", "build.py"]).await;
}

#[test]
fn a_bad_name_or_language_is_one_line() {
    let dir = scratch_dir("scaffold-bad");
    let bin = stampede_bin!();
    let (ok, err) = sh(
        &dir,
        &[bin.to_str().unwrap(), "new", "My Flow", "--lang", "go"],
    );
    assert!(!ok && err.contains("a name is lowercase letters"), "{err}");
    let (ok, err) = sh(
        &dir,
        &[bin.to_str().unwrap(), "new", "x", "--lang", "cobol"],
    );
    assert!(
        !ok && err.contains("possible values: rust, js, go, python"),
        "{err}"
    );
}
