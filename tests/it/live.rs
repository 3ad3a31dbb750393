//! Live outputs against the real thing: a Prometheus server the test starts on
//! 127.0.0.1 scrapes `--metrics-listen` during a run, and what its PromQL answers
//! afterwards is what the summary says.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use stampede_tests::*;

use crate::kit::run_cli;

/// Prometheus, installed by `tests/setup/prometheus.sh` when missing.
fn prometheus_bin() -> &'static str {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let r = READY.get_or_init(|| {
        let out = Command::new("bash")
            .arg(format!("{TESTS_DIR}/setup/prometheus.sh"))
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    });
    if let Err(e) = r {
        panic!("prometheus is needed for this test: {e}");
    }
    "prometheus"
}

/// A port free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus server of the test's own, killed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts one that scrapes `target` every second, and waits until it is ready and
    /// has the target (its discovery hands targets over up to 5 s after the start).
    async fn scraping(dir: &Path, target: SocketAddr) -> Prometheus {
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: stampede\n    static_configs:\n      - targets: ['{target}']\n"
        );
        Prometheus::start(dir, &config, &[], true).await
    }

    /// Starts one that takes remote writes at `/api/v1/write` (exemplars too) and
    /// scrapes nothing.
    async fn receiving(dir: &Path) -> Prometheus {
        Prometheus::start(
            dir,
            "scrape_configs: []\n",
            &[
                "--web.enable-remote-write-receiver",
                "--enable-feature=exemplar-storage",
            ],
            false,
        )
        .await
    }

    async fn start(dir: &Path, config: &str, flags: &[&str], has_target: bool) -> Prometheus {
        let file = dir.join("prometheus.yml");
        std::fs::write(&file, config).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(prometheus_bin())
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("prometheus.log")).unwrap(),
            ))
            .spawn()
            .expect("prometheus starts");
        let p = Prometheus { child, addr };
        let start = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok()
                && http_call(addr, "GET", "/-/ready", &[], "").await.0 == 200
                && (!has_target
                    || http_json(addr, "GET", "/api/v1/targets", &[], "").await.1["data"]
                        ["activeTargets"]
                        .as_array()
                        .is_some_and(|t| !t.is_empty()))
            {
                return p;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "prometheus did not become ready: {}",
                std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of an instant PromQL query that yields one series (`None`: none).
    async fn value(&self, promql: &str) -> Option<f64> {
        let q: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let (status, j) = http_json(
            self.addr,
            "GET",
            &format!("/api/v1/query?query={q}"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, 200, "{promql}: {j}");
        let result = j["data"]["result"].as_array()?;
        assert!(result.len() <= 1, "{promql}: {j}");
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// Waits (a few seconds at most) for the last values of the series `selector`
    /// picks to add up to `want`: the last scrape is stored a moment after it is
    /// answered. (Their last values: once the run is over its series are marked stale,
    /// and an instant query finds none.)
    async fn expect(&self, selector: &str, want: f64) {
        let promql = format!("sum(last_over_time({selector}[5m]))");
        let promql = promql.as_str();
        let start = Instant::now();
        loop {
            let got = self.value(promql).await;
            if got == Some(want) {
                return;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let scraped = self
                    .value("max_over_time(scrape_samples_scraped[5m])")
                    .await;
                let (_, targets) = http_json(self.addr, "GET", "/api/v1/targets", &[], "").await;
                panic!(
                    "{promql}: Prometheus says {got:?}, the summary {want} (most samples in one scrape: {scraped:?}; targets: {targets})"
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_run_and_its_final_figures_match_the_summary() {
    let server = start_server().await;
    let dir = scratch_dir("live-prometheus");
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let prom = Prometheus::scraping(&dir, metrics).await;
    let cfg = dir.join("stampede.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
target = "{target}"

[env]
TASKS = "get"

[scenarios.browse]
scenario = {probe:?}
env = {{ PATH = "/slow/20", NAME = "GET /slow" }}
tags = {{ team = "web", "build-id" = "42" }}
load = {{ vus = 2, duration = "4s" }}

[scenarios.spike]
scenario = {probe:?}
env = {{ PATH = "/status/503" }}
load = {{ rate = 10, duration = "3s", vus = 1 }}

[outputs]
summary_json = "out.json"
metrics_listen = "{metrics}"
"#,
            target = server.url(),
            probe = PROBE_WASM
        ),
    )
    .unwrap();
    let cache = stampede_tests::compile_cache();
    let cfg = cfg.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        run_cli(&["run", "--config", &cfg, "--allow-failures"], &cache, &[])
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains(&format!("metrics at http://{metrics}/metrics")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not scraped"), "{}", out.stderr);
    let s = summary_from_json(&std::fs::read_to_string(dir.join("out.json")).unwrap()).unwrap();
    let scenario = |name: &str| {
        s.scenarios
            .iter()
            .find(|x| x.scenario.name == name)
            .unwrap_or_else(|| panic!("no scenario {name}"))
    };
    let (browse, spike) = (scenario("browse"), scenario("spike"));
    assert!(browse.totals.http_reqs > 20, "{:?}", browse.totals);

    // The final figures, as the summary has them.
    let b = r#"scenario="browse",team="web",build_id="42""#;
    prom.expect(
        &format!(r#"stampede_http_reqs_total{{{b},name="GET /slow",status="200"}}"#),
        browse.totals.http_reqs as f64,
    )
    .await;
    prom.expect(
        &format!(r#"stampede_http_req_duration_seconds_count{{{b}}}"#),
        browse.totals.http_reqs as f64,
    )
    .await;
    // Every request took 20 ms or more: none in the 5 ms bucket, all below +Inf.
    prom.expect(
        &format!(r#"stampede_http_req_duration_seconds_bucket{{{b},le="0.005"}}"#),
        0.0,
    )
    .await;
    prom.expect(
        &format!(r#"stampede_http_req_duration_seconds_bucket{{{b},le="+Inf"}}"#),
        browse.totals.http_reqs as f64,
    )
    .await;
    prom.expect(
        &format!(r#"stampede_iterations_total{{{b}}}"#),
        browse.totals.iterations as f64,
    )
    .await;
    prom.expect(
        &format!(r#"stampede_checks_total{{{b},check="status is 200",result="pass"}}"#),
        browse.totals.checks_passed as f64,
    )
    .await;
    prom.expect("stampede_scenario_finished", 2.0).await;
    // The other scenario, under its own label: every response a failure.
    prom.expect(
        r#"stampede_http_req_failed_total{scenario="spike"}"#,
        spike.totals.http_req_failed as f64,
    )
    .await;
    prom.expect(
        r#"stampede_http_reqs_total{scenario="spike",status="503"}"#,
        spike.totals.http_reqs as f64,
    )
    .await;
    prom.expect(
        r#"stampede_dropped_iterations_total{scenario="spike"}"#,
        spike.totals.dropped_iterations as f64,
    )
    .await;
    // Scraped while it ran, not only at the end: the VU gauge was seen at 2, and the
    // request count was seen below its final value.
    assert_eq!(
        prom.value(r#"max_over_time(stampede_vus{scenario="browse"}[5m])"#)
            .await,
        Some(2.0)
    );
    let first = prom
        .value(&format!(
            r#"min_over_time(stampede_http_reqs_total{{{b},status="200"}}[5m])"#
        ))
        .await
        .unwrap();
    assert!(first < browse.totals.http_reqs as f64, "{first}");
    assert!(
        tokio::net::TcpStream::connect(metrics).await.is_err(),
        "the endpoint is closed once the run is over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_address_in_use_is_one_line_before_the_load() {
    let server = start_server().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let cache = stampede_tests::compile_cache();
    let target = server.url();
    let out = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "run",
                PROBE_WASM,
                "--target",
                &target,
                "--iterations",
                "1",
                "--metrics-listen",
                &addr,
            ],
            &cache,
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let last = out.stderr.trim_end();
    assert!(
        last.contains("--metrics-listen") && last.contains("cannot listen there"),
        "{last}"
    );
    assert_eq!(last.lines().count(), 1, "{last}");
    assert_eq!(server.seen.total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_pushes_the_run_to_prometheus_and_a_failed_push_is_said() {
    let server = start_server().await;
    let dir = scratch_dir("live-remote-write");
    let prom = Prometheus::receiving(&dir).await;
    // Nothing listens here: every push to it fails.
    let closed = free_port();
    let cache = stampede_tests::compile_cache();
    let (target, json) = (server.url(), dir.join("s.json"));
    let (rw, bad) = (
        format!("prometheus-rw=http://{}/api/v1/write", prom.addr),
        format!("prometheus-rw=http://127.0.0.1:{closed}/api/v1/write"),
    );
    let j = json.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "run",
                PROBE_WASM,
                "--target",
                &target,
                "--vus",
                "2",
                "--duration",
                "3s",
                "--env",
                "PATH=/slow/10",
                "--out",
                &rw,
                "--out",
                &bad,
                "--push-interval",
                "1s",
                "--summary-json",
                &j,
                "--trace-context",
            ],
            &cache,
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let s = summary_from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let failed_push = s
        .warnings
        .iter()
        .find(|w| w.contains(&format!("127.0.0.1:{closed}")))
        .unwrap_or_else(|| panic!("no warning of the failed pushes in {:?}", s.warnings));
    assert!(
        failed_push.contains("pushes failed") && failed_push.contains("cannot connect"),
        "{failed_push}"
    );
    assert!(out.stdout.contains(failed_push.as_str()), "{}", out.stdout);
    assert!(
        !s.warnings
            .iter()
            .any(|w| w.contains(&prom.addr.to_string())),
        "{:?}",
        s.warnings
    );
    let base = r#"scenario="probe""#;
    prom.expect(
        &format!(r#"stampede_http_reqs_total{{{base},status="200"}}"#),
        s.totals.http_reqs as f64,
    )
    .await;
    prom.expect(
        &format!(r#"stampede_http_req_duration_seconds_bucket{{{base},le="+Inf"}}"#),
        s.totals.http_reqs as f64,
    )
    .await;
    prom.expect(
        &format!(r#"stampede_http_req_duration_seconds_bucket{{{base},le="0.005"}}"#),
        0.0,
    )
    .await;
    prom.expect(
        &format!(r#"stampede_iterations_total{{{base}}}"#),
        s.totals.iterations as f64,
    )
    .await;
    prom.expect(&format!(r#"stampede_scenario_finished{{{base}}}"#), 1.0)
        .await;
    // Pushed while it ran: more than the final push, and a count below the final one.
    let samples = prom
        .value(&format!(
            r#"count_over_time(stampede_iterations_total{{{base}}}[5m])"#
        ))
        .await
        .unwrap();
    assert!(samples >= 3.0, "{samples} pushes");
    // The slowest traced requests went along as exemplars of their buckets.
    let q = "/api/v1/query_exemplars?query=stampede_http_req_duration_seconds_bucket&start=0&end=9999999999";
    let (status, j) = http_json(prom.addr, "GET", q, &[], "").await;
    assert_eq!(status, 200, "{j}");
    let stored: Vec<&str> = j["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|series| series["exemplars"].as_array().unwrap())
        .filter_map(|x| x["labels"]["trace_id"].as_str())
        .collect();
    let reported = &s.endpoints[0].exemplars;
    assert!(!reported.is_empty());
    for x in reported {
        assert!(
            stored.contains(&x.trace_id.as_str()),
            "{} not among {stored:?}",
            x.trace_id
        );
    }
    let first = prom
        .value(&format!(
            r#"min_over_time(stampede_iterations_total{{{base}}}[5m])"#
        ))
        .await
        .unwrap();
    assert!(first < s.totals.iterations as f64, "{first}");
}

#[test]
fn a_bad_out_is_one_line_before_the_load() {
    let cache = stampede_tests::compile_cache();
    for (spec, says) in [
        (
            "influxdb=http://127.0.0.1:1",
            "choose prometheus-rw or otlp",
        ),
        ("otlp", "KIND=URL"),
    ] {
        let out = run_cli(
            &[
                "run",
                PROBE_WASM,
                "--target",
                "http://127.0.0.1:1",
                "--out",
                spec,
            ],
            &cache,
            &[],
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        let err = out.stderr.trim_end();
        assert!(err.contains(says) && err.lines().count() == 1, "{err}");
    }
}

/// An OTLP receiver of the test's own (`tests/setup/otlp_receiver.py`), killed when
/// dropped; what it decoded is in `exports`, one JSON line per push.
struct OtlpReceiver {
    child: Child,
    port: u16,
    exports: std::path::PathBuf,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OtlpReceiver {
    fn start(dir: &Path) -> OtlpReceiver {
        use std::io::BufRead;
        let python = crate::kit::pypi_reference("opentelemetry-proto", "1.39.1", "python");
        let exports = dir.join("exports.jsonl");
        let mut child = Command::new(python)
            .arg(format!("{TESTS_DIR}/setup/otlp_receiver.py"))
            .arg(&exports)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the OTLP receiver starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("receiver said {line:?}"));
        OtlpReceiver {
            child,
            port,
            exports,
        }
    }

    /// Every export it decoded, in order.
    fn exports(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.exports)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The data points of metric `name` in one decoded export.
fn otlp_points<'a>(export: &'a serde_json::Value, name: &str) -> Vec<&'a serde_json::Value> {
    let metric = export["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {export}"));
    let data = ["sum", "gauge", "histogram"]
        .iter()
        .find_map(|k| metric.get(*k))
        .unwrap();
    data["dataPoints"].as_array().unwrap().iter().collect()
}

fn attribute<'a>(point: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    point["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"]["stringValue"]
        .as_str()
}

/// An int64 as protobuf's JSON mapping writes it (a string).
fn int(v: &serde_json::Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or(v.as_u64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_exports_decode_with_the_official_definitions_and_match_the_summary() {
    let server = start_server().await;
    let dir = scratch_dir("live-otlp");
    let receiver = OtlpReceiver::start(&dir);
    let cache = stampede_tests::compile_cache();
    let (target, json) = (server.url(), dir.join("s.json"));
    let out_spec = format!("otlp=http://127.0.0.1:{}", receiver.port);
    let j = json.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "run",
                PROBE_WASM,
                "--target",
                &target,
                "--vus",
                "2",
                "--duration",
                "3s",
                "--env",
                "PATH=/slow/10",
                "--out",
                &out_spec,
                "--push-interval",
                "1s",
                "--summary-json",
                &j,
                "--trace-context",
            ],
            &cache,
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let s = summary_from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let exports = receiver.exports();
    assert!(exports.len() >= 3, "{} exports", exports.len());
    let last = exports.last().unwrap();
    let resource = &last["resourceMetrics"][0]["resource"]["attributes"][0];
    assert_eq!(resource["value"]["stringValue"], "stampede", "{resource}");

    let reqs = otlp_points(last, "stampede.http_reqs");
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(attribute(reqs[0], "scenario"), Some("probe"));
    assert_eq!(attribute(reqs[0], "status"), Some("200"));
    assert_eq!(int(&reqs[0]["asInt"]), s.totals.http_reqs);
    let hist = otlp_points(last, "stampede.http_req_duration");
    let h = hist[0];
    assert_eq!(int(&h["count"]), s.totals.http_reqs);
    let buckets: Vec<u64> = h["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(int)
        .collect();
    let bounds = h["explicitBounds"].as_array().unwrap();
    assert_eq!(buckets.len(), bounds.len() + 1);
    assert_eq!(buckets.iter().sum::<u64>(), s.totals.http_reqs);
    // 10 ms responses: nothing at or below 5 ms.
    assert_eq!(
        buckets[..3].iter().sum::<u64>(),
        0,
        "{bounds:?} {buckets:?}"
    );
    // The slowest traced requests, their ids as bytes (base64 in protobuf's JSON).
    let sent: Vec<String> = h["exemplars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            use base64::Engine as _;
            let b = base64::engine::general_purpose::STANDARD
                .decode(x["traceId"].as_str().unwrap())
                .unwrap();
            b.iter().map(|b| format!("{b:02x}")).collect()
        })
        .collect();
    let reported: Vec<&str> = s.endpoints[0]
        .exemplars
        .iter()
        .map(|x| x.trace_id.as_str())
        .collect();
    assert!(!reported.is_empty());
    assert_eq!(sent, reported);
    let mean = h["sum"].as_f64().unwrap() / s.totals.http_reqs as f64;
    assert!(
        (mean - s.http_req_duration.avg / 1000.0).abs() < 1e-3,
        "{mean}"
    );
    assert_eq!(
        int(&otlp_points(last, "stampede.iterations")[0]["asInt"]),
        s.totals.iterations
    );
    assert_eq!(
        int(&otlp_points(last, "stampede.scenario_finished")[0]["asInt"]),
        1
    );
    // Cumulative from one start: every export has the same start, later ends.
    let start = |e: &serde_json::Value| {
        otlp_points(e, "stampede.iterations")[0]["startTimeUnixNano"].clone()
    };
    assert!(exports.iter().all(|e| start(e) == start(last)));
    let first = int(&otlp_points(&exports[0], "stampede.iterations")[0]["asInt"]);
    assert!(first < s.totals.iterations, "{first}");
}
