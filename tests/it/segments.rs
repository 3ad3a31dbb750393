//! Beyond one machine, simulated honestly: N processes of the real binary, each told
//! its segment the way a Kubernetes Indexed Job tells it (`JOB_COMPLETION_INDEX`),
//! against one server; `stampede merge` must give what one process running the whole
//! load gives.

use std::path::Path;
use std::process::{Command, Output};

use stampede::metrics::Summary;
use stampede_tests::*;

fn stampede(args: &[&str], index: Option<u32>, dir: &Path) -> Output {
    let mut c = Command::new(stampede_bin!());
    c.args(args)
        .env("STAMPEDE_CACHE_DIR", dir.join("cache"))
        .env_remove("GITHUB_STEP_SUMMARY");
    match index {
        Some(i) => c.env("JOB_COMPLETION_INDEX", i.to_string()),
        None => c.env_remove("JOB_COMPLETION_INDEX"),
    };
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read(p: &Path) -> Summary {
    stampede_tests::summary_from_json(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn three_segments_merge_into_what_one_process_measures() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start_server());
    let dir = scratch_dir("segments-merge");
    let url = server.url();
    // 300 requests taking k mod 50 ms: the same spread however they are split.
    let base = [
        "run",
        PROBE_WASM,
        "--target",
        &url,
        "--vus",
        "6",
        "--iterations",
        "300",
        "--env",
        "TASKS=get",
        "--env",
        "PATH=/cycle/50",
        "-q",
    ];
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let whole = stampede(
        &[&base[..], &["--summary-json", &p("whole.json")]].concat(),
        None,
        &dir,
    );
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole));
    assert_eq!(server.seen.total(), 300);

    // Three processes at once, as three pods would run.
    let children: Vec<_> = (0..3u32)
        .map(|i| {
            let args: Vec<String> = [&base[..], &["--segments", "3", "--summary-json"]]
                .concat()
                .iter()
                .map(|s| s.to_string())
                .chain([p(&format!("seg-{i}.json"))])
                .collect();
            let dir = dir.clone();
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                stampede(&args, Some(i), &dir)
            })
        })
        .collect();
    for c in children {
        let o = c.join().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    assert_eq!(
        server.seen.total(),
        600,
        "the segments sent exactly the whole load"
    );
    let segs: Vec<Summary> = (0..3)
        .map(|i| read(&dir.join(format!("seg-{i}.json"))))
        .collect();
    assert_eq!(
        segs.iter().map(|s| s.totals.iterations).collect::<Vec<_>>(),
        vec![100, 100, 100]
    );
    assert!(segs.iter().all(|s| s.fingerprint == segs[0].fingerprint));

    let merged_path = p("merged.json");
    let gate = [
        "--threshold",
        "http_req_duration: p(95)<1000",
        "--threshold",
        "http_reqs: count==300",
    ];
    let m = stampede(
        &[
            &[
                "merge",
                &p("seg-0.json"),
                &p("seg-1.json"),
                &p("seg-2.json"),
            ][..],
            &gate,
            &["--summary-json", &merged_path],
        ]
        .concat(),
        None,
        &dir,
    );
    assert_eq!(m.status.code(), Some(0), "{}", text(&m));
    let (merged, whole) = (read(Path::new(&merged_path)), read(&dir.join("whole.json")));
    assert_eq!(merged.totals.http_reqs, 300);
    assert_eq!(merged.totals.iterations, 300);
    assert_eq!(merged.totals.checks_passed, whole.totals.checks_passed);
    assert_eq!(merged.http_req_duration.count, 300);
    assert_eq!(merged.vus_max, 6);
    assert!(merged.segment.is_none());
    // Same latency spread: the merged percentiles match the single process's within
    // what scheduling adds to a 0-49 ms server delay (HDR itself is within 0.1%).
    for (what, a, b) in [
        (
            "p50",
            merged.http_req_duration.med,
            whole.http_req_duration.med,
        ),
        (
            "p90",
            merged.http_req_duration.p90,
            whole.http_req_duration.p90,
        ),
        (
            "p95",
            merged.http_req_duration.p95,
            whole.http_req_duration.p95,
        ),
        (
            "p99",
            merged.http_req_duration.p99,
            whole.http_req_duration.p99,
        ),
    ] {
        assert!(
            (a - b).abs() < 4.0,
            "{what}: merged {a:.2} ms, one process {b:.2} ms"
        );
    }
    // The same verdict either way, failing too.
    let failing = ["--threshold", "http_req_duration: p(50)<5"];
    let m = stampede(
        &[
            &[
                "merge",
                &p("seg-0.json"),
                &p("seg-1.json"),
                &p("seg-2.json"),
            ][..],
            &failing,
        ]
        .concat(),
        None,
        &dir,
    );
    let c = stampede(
        &[
            &["compare", &p("whole.json"), &merged_path][..],
            &["--rule", "fail: p(95) +25%"],
        ]
        .concat(),
        None,
        &dir,
    );
    assert_eq!(m.status.code(), Some(99), "{}", text(&m));
    assert_eq!(c.status.code(), Some(0), "{}", text(&c));

    // Refusals, each in one line.
    let err = |args: &[&str], says: &str| {
        let o = stampede(args, None, &dir);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.trim().lines().count() == 1 && e.contains(says), "{e}");
    };
    err(
        &["merge", &p("seg-0.json"), &p("seg-1.json")],
        "segments 3/3 missing",
    );
    err(
        &[
            "merge",
            &p("seg-0.json"),
            &p("seg-0.json"),
            &p("seg-2.json"),
        ],
        "segment 1/3 appears twice",
    );
    err(
        &["merge", &p("seg-0.json"), &p("whole.json")],
        "not a segment's summary",
    );
    let other = stampede(
        &[
            "run",
            PROBE_WASM,
            "--target",
            &url,
            "--vus",
            "6",
            "--iterations",
            "301",
            "--env",
            "TASKS=get",
            "--env",
            "PATH=/ok",
            "-q",
            "--segment",
            "2/3",
            "--summary-json",
            &p("other.json"),
        ],
        None,
        &dir,
    );
    assert_eq!(other.status.code(), Some(0), "{}", text(&other));
    err(
        &[
            "merge",
            &p("seg-0.json"),
            &p("other.json"),
            &p("seg-2.json"),
        ],
        "from a different run",
    );
}

#[test]
fn uneven_splits_add_up_and_logs_carry_summaries() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start_server());
    let dir = scratch_dir("segments-uneven");
    let url = server.url();
    // 60 iterations/s for 1 s over 3 segments; each prints its summary into its "pod
    // log" (stdout), which is all `merge` gets.
    let mut log = String::new();
    for i in 1..=3 {
        let seg = format!("{i}/3");
        let o = stampede(
            &[
                "run",
                PROBE_WASM,
                "--target",
                &url,
                "--rate",
                "60",
                "--duration",
                "1s",
                "--vus",
                "7",
                "--env",
                "TASKS=get",
                "-q",
                "--segment",
                &seg,
                "--summary-json",
                "-",
            ],
            None,
            &dir,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        log.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    let log_path = dir.join("pods.log");
    std::fs::write(&log_path, &log).unwrap();
    let merged = dir.join("merged.json");
    let m = stampede(
        &[
            "merge",
            log_path.to_str().unwrap(),
            "--summary-json",
            merged.to_str().unwrap(),
        ],
        None,
        &dir,
    );
    assert_eq!(m.status.code(), Some(0), "{}", text(&m));
    let s = read(&merged);
    assert_eq!(s.totals.iterations + s.totals.dropped_iterations, 60);
    assert_eq!(s.totals.http_reqs, server.seen.total());
    // 7 pre-allocated VUs split 2 + 2 + 3.
    assert_eq!(s.vus_max, 7);
}

#[test]
fn the_kubernetes_manifest_is_an_indexed_job() {
    let dir = scratch_dir("segments-k8s");
    let cfg = dir.join("stampede.toml");
    std::fs::write(
        &cfg,
        "scenario = \"checkout.wasm\"\ntarget = \"http://127.0.0.1:8080\"\n[load]\nvus = 1000\nduration = \"5m\"\n",
    )
    .unwrap();
    let o = stampede(
        &[
            "k8s",
            "checkout-load",
            "--config",
            cfg.to_str().unwrap(),
            "--parallelism",
            "4",
            "--image",
            "registry.example.com/stampede:0.1",
            "--config-map",
            "checkout-load",
            "--start-at",
            "2026-11-24T10:00:00Z",
        ],
        None,
        &dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let yaml = String::from_utf8(o.stdout).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&yaml).expect("the manifest is YAML");
    assert_eq!(docs.len(), 1);
    let job = &docs[0];
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["metadata"]["name"].as_str(), Some("checkout-load"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(spec["completions"].as_i64(), Some(4));
    assert_eq!(spec["parallelism"].as_i64(), Some(4));
    assert_eq!(spec["backoffLimit"].as_i64(), Some(0));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let c = &pod["containers"][0];
    assert_eq!(
        c["image"].as_str(),
        Some("registry.example.com/stampede:0.1")
    );
    let args: Vec<&str> = c["args"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(
        args,
        [
            "run",
            "--config",
            "/load/stampede.toml",
            "--segments",
            "4",
            "--summary-json",
            "-",
            "--quiet",
            "--start-at",
            "2026-11-24T10:00:00Z"
        ]
    );
    // 1,000 VUs over 4 pods: 250 each, one core and 128 + 63 MiB.
    assert_eq!(c["resources"]["requests"]["cpu"].as_str(), Some("1000m"));
    assert_eq!(c["resources"]["requests"]["memory"].as_str(), Some("191Mi"));
    assert_eq!(c["resources"]["limits"]["memory"].as_str(), Some("382Mi"));
    assert_eq!(c["volumeMounts"][0]["mountPath"].as_str(), Some("/load"));
    assert_eq!(
        pod["volumes"][0]["configMap"]["name"].as_str(),
        Some("checkout-load")
    );
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"]["stampede.dev/run"].as_str(),
        Some("checkout-load")
    );
    let bad = stampede(
        &[
            "k8s",
            "Checkout_Load",
            "--config",
            cfg.to_str().unwrap(),
            "--parallelism",
            "2",
            "--image",
            "x",
        ],
        None,
        &dir,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use lowercase letters"));
}

#[test]
fn start_at_holds_the_load_until_then() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start_server());
    let dir = scratch_dir("segments-start-at");
    let json = dir.join("s.json");
    let run = |at: std::time::SystemTime, iterations: &str| {
        let stamp = humantime::format_rfc3339_millis(at).to_string();
        let url = server.url();
        let args = [
            "run",
            PROBE_WASM,
            "--target",
            &url,
            "--iterations",
            iterations,
        ];
        let rest = ["--env", "TASKS=get", "--start-at", &stamp, "--summary-json"];
        stampede(
            &[&args[..], &rest[..], &[json.to_str().unwrap()]].concat(),
            None,
            &dir,
        )
    };
    let at = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    let o = run(at, "3");
    let done = std::time::SystemTime::now();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(done >= at, "the run ended before its start time");
    assert!(text(&o).contains("waiting"), "{}", text(&o));
    let s = read(&json);
    let at_ms = at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        s.started_at_ms.abs_diff(at_ms) < 50,
        "{} vs {at_ms}",
        s.started_at_ms
    );
    assert_eq!(server.seen.total(), 3);

    // A start time already past: the load starts at once, and the summary says how late.
    let o = run(
        std::time::SystemTime::now() - std::time::Duration::from_secs(30),
        "1",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = read(&json);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("the load started 30.") && w.contains("after --start-at")),
        "{:?}",
        s.warnings
    );
}
