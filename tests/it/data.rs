//! `--data DIR`: test data every VU reads, through the binary against a server on
//! 127.0.0.1 that records which rows arrived. Feeders hand rows out in each order (and
//! split them between segments), the directory is each instance's read-only
//! filesystem and nothing beyond it, and links and oversized files stop the run before
//! any load. The Locust and k6 layers read it as their scripts do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stampede::metrics::summary::Summary;
use stampede_tests::*;

use crate::kit::{CliOut, heavy, own_runtime, run_cli, shared_cache};

/// A data directory of `rows` users (`u0`...) in users.csv, and products.json, with a
/// file beside it (outside) that no scenario may reach.
fn data_dir(name: &str, rows: usize) -> PathBuf {
    let base = scratch_dir(&format!("data-{name}"));
    let dir = base.join("data");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let mut csv = String::from("user,password\n");
    for i in 0..rows {
        csv.push_str(&format!("u{i},pw{i}\n"));
    }
    std::fs::write(dir.join("users.csv"), &csv).unwrap();
    std::fs::write(dir.join("sub/users.csv"), &csv).unwrap();
    std::fs::write(
        dir.join("products.json"),
        r#"[{"user": "p-a", "n": 1}, {"user": "p-b", "n": 2}, {"user": "p-c"}]"#,
    )
    .unwrap();
    std::fs::write(base.join("outside.txt"), "secret").unwrap();
    dir
}

struct Ran {
    summary: Option<Summary>,
    /// Requests by path.
    paths: BTreeMap<String, u64>,
    out: CliOut,
}

/// Runs the probe fixture with `args` against a fresh server.
fn probe(name: &str, args: &[&str]) -> Ran {
    let rt = own_runtime();
    let server = rt.block_on(start_server());
    let target = server.url();
    let json = scratch_dir(&format!("data-run-{name}")).join("s.json");
    let mut all = vec![
        "run",
        PROBE_WASM,
        "--target",
        &target,
        "--summary-json",
        json.to_str().unwrap(),
        "--allow-failures",
        "-q",
        "--env",
        "PATH=/echo/d",
    ];
    all.extend_from_slice(args);
    let out = run_cli(&all, &stampede_tests::compile_cache(), &[]);
    let summary = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| summary_from_json(&t).ok());
    let paths = server
        .seen
        .by_path
        .lock()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    Ran {
        summary,
        paths,
        out,
    }
}

fn ran(name: &str, args: &[&str]) -> (Summary, BTreeMap<String, u64>, CliOut) {
    let r = probe(name, args);
    let s = r
        .summary
        .unwrap_or_else(|| panic!("{name}: no summary\n{}", r.out.stderr));
    (s, r.paths, r.out)
}

/// How many times each user's row arrived (`/echo/d/u3` → `u3`).
fn users(paths: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    paths
        .iter()
        .filter_map(|(p, n)| Some((p.strip_prefix("/echo/d/")?.to_string(), *n)))
        .collect()
}

fn feed<'a>(dir: &'a Path, order: &'a str, more: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--data",
        dir.to_str().unwrap(),
        "--env",
        "TASKS=feed",
        "--env",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("DATA_ORDER={order}"));
    v.extend(more.iter().map(|s| s.to_string()));
    v
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn feeders_hand_out_rows_in_each_order() {
    let dir = data_dir("orders", 10);

    // Sequential: each of the 10 rows once across 3 VUs; the 3 calls past the end fail
    // their iterations and the summary says the rows ran out.
    let a = feed(&dir, "sequential", &["--vus", "3", "--iterations", "13"]);
    let (s, paths, o) = ran("sequential", &args(&a));
    let seen = users(&paths);
    assert_eq!(seen.len(), 10, "{seen:?}\n{}", o.stderr);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert_eq!(s.totals.iterations_failed, 3, "{:?}", s.errors);
    assert!(
        s.errors
            .iter()
            .any(|e| e.message.contains("all 10 rows were handed out") && e.count == 3),
        "{:?}",
        s.errors
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("data users.csv: its rows ran out")
                && w.ends_with("3 feeder calls got none")),
        "{:?}",
        s.warnings
    );

    // Unique: each VU keeps its own row for all its iterations.
    let a = feed(&dir, "unique", &["--vus", "4", "--iterations-per-vu", "3"]);
    let (s, paths, _) = ran("unique", &args(&a));
    let want: BTreeMap<String, u64> = (0..4).map(|i| (format!("u{i}"), 3)).collect();
    assert_eq!(users(&paths), want);
    assert_eq!(s.totals.iterations_failed, 0, "{:?}", s.errors);

    // Circular: 25 calls over 10 rows go round twice and a half, in order.
    let a = feed(&dir, "circular", &["--vus", "2", "--iterations", "25"]);
    let (_, paths, _) = ran("circular", &args(&a));
    let want: BTreeMap<String, u64> = (0..10)
        .map(|i| (format!("u{i}"), if i < 5 { 3 } else { 2 }))
        .collect();
    assert_eq!(users(&paths), want);

    // Random, from a JSON file: only its rows, strings unquoted, and not one row only.
    let a = feed(
        &dir,
        "random",
        &[
            "--vus",
            "2",
            "--iterations",
            "60",
            "--env",
            "DATA_FILE=products.json",
        ],
    );
    let (s, paths, _) = ran("random", &args(&a));
    let seen = users(&paths);
    assert_eq!(seen.values().sum::<u64>(), 60, "{seen:?}");
    assert!(
        seen.keys()
            .all(|k| ["p-a", "p-b", "p-c"].contains(&k.as_str())),
        "{seen:?}"
    );
    assert!(seen.len() >= 2, "{seen:?}");
    assert_eq!(s.totals.iterations_failed, 0, "{:?}", s.errors);
}

#[test]
fn segments_of_one_run_hand_out_different_rows() {
    let dir = data_dir("segments", 10);
    let mut all = BTreeMap::new();
    for seg in ["1/2", "2/2"] {
        let a = feed(
            &dir,
            "sequential",
            &["--vus", "2", "--iterations", "10", "--segment", seg],
        );
        let (s, paths, o) = ran(&format!("segment-{}", &seg[..1]), &args(&a));
        assert_eq!(
            s.totals.iterations_failed, 0,
            "{seg}: {:?}\n{}",
            s.errors, o.stderr
        );
        for (u, n) in users(&paths) {
            *all.entry(u).or_insert(0) += n;
        }
    }
    let want: BTreeMap<String, u64> = (0..10).map(|i| (format!("u{i}"), 1)).collect();
    assert_eq!(all, want);
}

#[test]
fn the_directory_is_each_instances_read_only_filesystem_and_nothing_beyond() {
    let dir = data_dir("fs", 2);
    let (s, paths, o) = ran(
        "fs",
        &[
            "--data",
            dir.to_str().unwrap(),
            "--env",
            "TASKS=files",
            "--env",
            "DATA_PATH=sub/users.csv",
            "--vus",
            "2",
            "--iterations",
            "4",
        ],
    );
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    assert_eq!(paths.get("/echo/d/user-password"), Some(&4), "{paths:?}");
    for c in ["outside unreachable", "read-only"] {
        let c = s.checks.iter().find(|x| x.name == c).unwrap();
        assert_eq!((c.passes, c.fails), (4, 0), "{c:?}");
    }

    // Without --data there is no filesystem, and a feeder says what to pass.
    let (s, paths, _) = ran("no-data", &["--env", "TASKS=feed", "--iterations", "2"]);
    assert!(paths.is_empty(), "{paths:?}");
    assert!(
        s.errors.iter().any(|e| e
            .message
            .contains("no data directory: give the run one with --data DIR")
            && e.count == 2),
        "{:?}",
        s.errors
    );
}

#[test]
fn links_and_oversized_files_are_refused_before_any_load() {
    let dir = data_dir("refused", 2);
    std::os::unix::fs::symlink("../outside.txt", dir.join("sub/escape.txt")).unwrap();
    let r = probe(
        "link",
        &["--data", dir.to_str().unwrap(), "--env", "TASKS=feed"],
    );
    assert_eq!(r.out.code, 2, "{}", r.out.stderr);
    let line = r
        .out
        .stderr
        .lines()
        .find(|l| l.contains("escape"))
        .unwrap_or_default();
    assert!(
        line.contains("--data")
            && line.contains("sub/escape.txt is a symbolic link")
            && line.contains("copy the file in"),
        "{}",
        r.out.stderr
    );
    assert!(r.paths.is_empty() && r.summary.is_none());
    std::fs::remove_file(dir.join("sub/escape.txt")).unwrap();

    std::fs::write(dir.join("big.csv"), vec![b'x'; (1 << 20) + 1]).unwrap();
    let r = probe(
        "big",
        &[
            "--data",
            dir.to_str().unwrap(),
            "--max-data-file-mib",
            "1",
            "--env",
            "TASKS=feed",
        ],
    );
    assert_eq!(r.out.code, 2, "{}", r.out.stderr);
    assert!(
        r.out
            .stderr
            .contains("big.csv is 1.0 MiB, over the 1.0 MiB a data file may have"),
        "{}",
        r.out.stderr
    );
    assert!(r.paths.is_empty());

    // The same from stampede.toml, named by its key.
    let conf = dir.parent().unwrap().join("stampede.toml");
    std::fs::write(&conf, "data = \"data\"\n[limits]\nmax_data_file_mib = 1\n").unwrap();
    let r = probe(
        "big-toml",
        &["--config", conf.to_str().unwrap(), "--env", "TASKS=feed"],
    );
    assert_eq!(r.out.code, 2, "{}", r.out.stderr);
    assert!(
        r.out.stderr.contains("data ") && r.out.stderr.contains("big.csv is"),
        "{}",
        r.out.stderr
    );
}

/// Runs a script given as source, with a data directory, against a fresh server.
fn run_source(script: &Path, data: &Path, args: &[&str]) -> (Summary, Arc<Seen>, CliOut) {
    let _cpu = heavy();
    let rt = own_runtime();
    let server = rt.block_on(start_server());
    let target = server.url();
    let out = scratch_dir(&format!(
        "data-src-{}",
        script.file_name().unwrap().to_string_lossy()
    ))
    .join("s.json");
    let target_env = format!("TARGET={target}");
    let mut all = vec![
        "run",
        script.to_str().unwrap(),
        "--target",
        &target,
        "--data",
        data.to_str().unwrap(),
        "--summary-json",
        out.to_str().unwrap(),
        "--allow-failures",
        "-q",
        "--env",
        &target_env,
    ];
    all.extend_from_slice(args);
    let o = run_cli(&all, &shared_cache(), &[]);
    let s = std::fs::read_to_string(&out)
        .ok()
        .and_then(|t| summary_from_json(&t).ok())
        .unwrap_or_else(|| panic!("{}: no summary\n{}", script.display(), o.stderr));
    (s, server.seen.clone(), o)
}

fn queries(seen: &Seen, path: &str) -> Vec<String> {
    let all = seen.echoes.lock().unwrap();
    let mut q: Vec<String> = all
        .iter()
        .filter(|e| e.path == path)
        .map(|e| e.query.clone())
        .collect();
    q.sort();
    q
}

#[test]
fn a_locustfile_reads_test_data_as_locust_scripts_do() {
    // users.csv beside the script is read by the module level when it is built; the
    // data directory's, at run time by on_start, and through a shared feeder.
    let script_dir = repo_root().join("tests/locust/corpus");
    let dir = data_dir("locust", 3);
    let (s, seen, o) = run_source(
        &script_dir.join("data_files.py"),
        &dir,
        &["--vus", "3", "--iterations-per-vu", "2"],
    );
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    let q = queries(&seen, "/echo/locust-data");
    assert_eq!(
        q,
        [
            "beside=beside-a&mine=u0&runtime=u0,u1,u2",
            "beside=beside-a&mine=u0&runtime=u0,u1,u2",
            "beside=beside-a&mine=u1&runtime=u0,u1,u2",
            "beside=beside-a&mine=u1&runtime=u0,u1,u2",
            "beside=beside-a&mine=u2&runtime=u0,u1,u2",
            "beside=beside-a&mine=u2&runtime=u0,u1,u2",
        ],
        "{}",
        o.stderr
    );
}

#[test]
fn a_k6_script_opens_data_files_and_shares_arrays() {
    let dir = data_dir("k6", 3);
    let script = repo_root().join("tests/k6/corpus/data_files.js");
    let (s, seen, o) = run_source(&script, &dir, &["--vus", "3", "--iterations-per-vu", "2"]);
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    let failed: Vec<_> = s.checks.iter().filter(|c| c.fails > 0).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(s.totals.checks_passed, 6 * 3, "{:?}", s.checks);
    let q = queries(&seen, "/echo/k6-data");
    assert_eq!(q.len(), 6, "{q:?}");
    for vu in 1..=3 {
        let want = format!("csv_rows=3&product=p-{}&vu={vu}", ["a", "b", "c"][vu - 1]);
        assert_eq!(q.iter().filter(|x| **x == want).count(), 2, "{want}: {q:?}");
    }
}

#[test]
fn each_scenario_of_a_run_may_have_its_own_data() {
    let base = scratch_dir("data-per-scenario");
    for (dir, prefix) in [("a", "a"), ("b", "b")] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
        std::fs::write(
            base.join(dir).join("users.csv"),
            format!("user\n{prefix}0\n{prefix}1\n"),
        )
        .unwrap();
    }
    let conf = base.join("stampede.toml");
    let probe = PROBE_WASM.replace('\\', "/");
    std::fs::write(
        &conf,
        format!(
            r#"data = "a"

[scenarios.first]
scenario = "{probe}"
load = {{ vus = 1, iterations = 2 }}
env = {{ TASKS = "feed", PATH = "/echo/first" }}

[scenarios.second]
scenario = "{probe}"
data = "b"
load = {{ vus = 1, iterations = 2 }}
env = {{ TASKS = "feed", PATH = "/echo/second" }}
"#
        ),
    )
    .unwrap();
    let rt = own_runtime();
    let server = rt.block_on(start_server());
    let target = server.url();
    let o = run_cli(
        &[
            "run",
            "--config",
            conf.to_str().unwrap(),
            "--target",
            &target,
            "-q",
        ],
        &stampede_tests::compile_cache(),
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let paths: BTreeMap<String, u64> = server
        .seen
        .by_path
        .lock()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    let want: BTreeMap<String, u64> = [
        "/echo/first/a0",
        "/echo/first/a1",
        "/echo/second/b0",
        "/echo/second/b1",
    ]
    .iter()
    .map(|p| (p.to_string(), 1))
    .collect();
    assert_eq!(paths, want);
}
