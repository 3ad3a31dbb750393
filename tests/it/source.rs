//! `stampede run FILE.py|.js` and `stampede build`: a scenario's source is built with
//! the pinned toolchains (provisioned under the cache on first use), cached by the hash
//! of its folder and the SDK, and run; build errors are one line with file:line.

use stampede_demo::{Knobs, serve};
use stampede_tests::*;

use crate::kit::{CliOut, heavy, own_runtime, run_cli, shared_cache};

fn plugin(rel: &str) -> String {
    repo_root().join(rel).to_str().unwrap().to_string()
}

/// A short smoke run of `source` against `target`.
fn run_source(source: &str, target: &str) -> CliOut {
    run_cli(
        &[
            "run",
            source,
            "--target",
            target,
            "--vus",
            "2",
            "--iterations",
            "20",
            "--env",
            "WAIT_MIN_MS=0",
            "--env",
            "WAIT_MAX_MS=1",
            "-q",
        ],
        &shared_cache(),
        &[],
    )
}

#[test]
fn a_python_or_js_source_runs_as_it_is_and_the_second_run_starts_from_the_cache() {
    // Builds take both cores: this test runs alone, its demo on a runtime of its own.
    let _cpu = heavy();
    let rt = own_runtime();
    let demo = rt
        .block_on(serve("127.0.0.1:0".parse().unwrap(), Knobs::default()))
        .unwrap();
    let target = format!("http://{}", demo.addr);
    for source in [
        plugin("plugins/smoke-py/smoke_py.py"),
        plugin("plugins/smoke-js/smoke.js"),
    ] {
        let first = run_source(&source, &target);
        assert_eq!(
            first.code, 0,
            "{source}: {}\n{}",
            first.stdout, first.stderr
        );
        assert!(first.stdout.contains("iterations"), "{}", first.stdout);
        // Built now, or by an earlier run of the suite on this machine: either way the
        // next run must not build again.
        let again = run_source(&source, &target);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(
            !again.stderr.contains("building "),
            "{source}: {}",
            again.stderr
        );
        // The report names the source, not the cache's file.
        let name = source.rsplit('/').next().unwrap();
        assert!(again.stdout.contains(name), "{}", again.stdout);
    }
}

#[test]
fn stampede_build_writes_a_component_that_runs() {
    let _cpu = heavy();
    let dir = scratch_dir("source-build");
    let out = dir.join("smoke.wasm");
    let o = run_cli(
        &[
            "build",
            &plugin("plugins/smoke-py/smoke_py.py"),
            "-o",
            out.to_str().unwrap(),
        ],
        &shared_cache(),
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let wasm = std::fs::read(&out).unwrap();
    assert_eq!(&wasm[..4], b"\0asm", "a WebAssembly file");
    assert!(o.stderr.contains("smoke.wasm ("), "{}", o.stderr);
}

#[test]
fn a_js_build_is_redone_when_a_file_it_read_changes_and_only_then() {
    let _cpu = heavy();
    let dir = scratch_dir("source-js-inputs");
    let script = dir.join("script.js");
    std::fs::write(
        &script,
        "import http from 'k6/http';\nimport { path } from './lib.js';\n\
         const ids = open('./ids.csv');\n\
         export default function () { http.get(`${__ENV.TARGET}${path}?ids=${ids.length}`); }\n",
    )
    .unwrap();
    // Unique, so an earlier run of the suite on this machine cannot have built it.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::fs::write(
        dir.join("lib.js"),
        format!("export const path = '/a';\n// {nonce}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("ids.csv"), "id\n1\n").unwrap();
    let out = dir.join("out.wasm");
    let build = || {
        let o = run_cli(
            &[
                "build",
                script.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            &shared_cache(),
            &[],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.stderr.contains("building script.js")
    };
    assert!(build(), "the first build");
    assert!(!build(), "nothing changed");
    // Files the build does not read: a summary or notes beside the script.
    std::fs::write(dir.join("summary.json"), "{}").unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    assert!(!build(), "a file the build never read");
    std::fs::write(dir.join("lib.js"), "export const path = '/b';\n").unwrap();
    assert!(build(), "an imported module changed");
    std::fs::write(dir.join("ids.csv"), "id\n1\n2\n").unwrap();
    assert!(build(), "an open()ed file changed");
    assert!(!build(), "nothing changed since");
    // The engine spliced with the world's bindings is kept for the next script's build
    // (that it is read back is the JS SDK's unit test's to show).
    assert!(splices() >= 1, "no splice kept");
}

/// The splices kept in the shared cache.
fn splices() -> usize {
    std::fs::read_dir(shared_cache().join("js-splice"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn build_errors_are_one_line_with_file_and_line() {
    let _cpu = heavy();
    let dir = scratch_dir("source-errors");
    let bad = dir.join("broken-script.py");
    std::fs::write(
        &bad,
        "from locust import HttpUser\n\nclass U(HttpUser)\n    pass\n",
    )
    .unwrap();
    let o = run_cli(&["run", bad.to_str().unwrap()], &shared_cache(), &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let line = o
        .stderr
        .lines()
        .find(|l| l.starts_with("stampede: error: "))
        .unwrap_or_else(|| panic!("{}", o.stderr));
    assert!(line.contains("broken-script.py:3: SyntaxError"), "{line}");
    // Raised while the module was loaded at build time: where, and what.
    let raises = dir.join("raises.py");
    std::fs::write(
        &raises,
        "import os\n\nx = 1\nraise ValueError('no config here')\n",
    )
    .unwrap();
    let o = run_cli(&["run", raises.to_str().unwrap()], &shared_cache(), &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("raises.py:4: ") && o.stderr.contains("no config here"),
        "{}",
        o.stderr
    );
    // Besides the progress note, the error is one line.
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| !l.starts_with("stampede: building "))
        .collect();
    assert_eq!(lines.len(), 1, "{}", o.stderr);
}

#[test]
fn a_missing_python_says_what_to_install() {
    let dir = scratch_dir("source-no-python");
    let script = dir.join("s.py");
    std::fs::write(&script, "x = 1\n").unwrap();
    // A cache with no toolchain yet, and no Python to make one with.
    let o = run_cli(
        &["run", script.to_str().unwrap()],
        &dir.join("cache"),
        &[("STAMPEDE_PYTHON", "/nonexistent/python3")],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("needs Python 3.10 or newer") && o.stderr.contains("STAMPEDE_PYTHON"),
        "{}",
        o.stderr
    );
}
