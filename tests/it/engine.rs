//! The core engine end to end: real components from tests/fixtures and plugins/, real
//! hyper servers on 127.0.0.1, the real library entry point.

use std::time::Duration;

use stampede::executor::Load;
use stampede::metrics::Summary;
use stampede::run::{RunConfig, StopSignals, run};
use stampede_tests::*;

use crate::kit::endpoint;

async fn go(cfg: RunConfig) -> Summary {
    run(cfg, StopSignals::none(), |_| {})
        .await
        .expect("run succeeds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reported_equal_requests_served() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        4,
        Load::iterations(200),
        &[("TASKS", "get"), ("NAME", "ping")],
    );
    let s = go(cfg).await;
    assert_eq!(server.seen.path("/ok"), 200);
    assert_eq!(s.totals.http_reqs, 200);
    assert_eq!(s.totals.http_req_failed, 0);
    assert_eq!(s.totals.iterations, 200);
    let e = endpoint(&s, "ping");
    assert_eq!(e.requests, 200);
    assert_eq!(e.status.get("200"), Some(&200));
    assert_eq!(e.duration.count, 200);
    assert!(e.duration.max >= e.duration.p99 && e.duration.p99 >= e.duration.med);
    assert!(
        s.totals.data_sent > 200 * 30,
        "wire bytes counted: {}",
        s.totals.data_sent
    );
    assert_eq!(s.checks[0].name, "status is 200");
    assert_eq!((s.checks[0].passes, s.checks[0].fails), (200, 0));
    // Keep-alive per VU: at most one connection per VU.
    assert!(server.seen.connection_count() <= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_names_group_by_method_and_path() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        1,
        Load::iterations(3),
        &[("TASKS", "get")],
    );
    let s = go(cfg).await;
    assert_eq!(endpoint(&s, "GET /ok").requests, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_failures_are_counted_by_status() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::iterations(10),
        &[
            ("TASKS", "get"),
            ("PATH", "/status/503"),
            ("NAME", "broken"),
        ],
    );
    let s = go(cfg).await;
    let e = endpoint(&s, "broken");
    assert_eq!((e.requests, e.failed), (10, 10));
    assert_eq!(e.status.get("503"), Some(&10));
    assert_eq!(s.totals.iterations_failed, 10);
    assert!(
        s.errors[0].message.contains("unexpected status 503"),
        "{:?}",
        s.errors
    );
    assert_eq!(server.seen.path("/status/503"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_counted_as_connect_errors() {
    // A port that was just free: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = config(
        PROBE_WASM,
        &format!("http://127.0.0.1:{port}"),
        1,
        Load::iterations(5),
        &[("TASKS", "get"), ("NAME", "nowhere")],
    );
    let s = go(cfg).await;
    let e = endpoint(&s, "nowhere");
    assert_eq!((e.requests, e.failed), (5, 5));
    assert_eq!(e.errors.get("connect"), Some(&5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_from_describe_is_refused_and_the_run_goes_on() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        // Per VU, so both VUs surely get an instance (shared iterations could all go
        // to the first one up).
        Load::per_vu_iterations(3),
        &[("TASKS", "get"), ("SEND_IN_DESCRIBE", "1")],
    );
    let s = go(cfg).await;
    // One refused request per instance (two VUs), none of which reached the server.
    let e = endpoint(&s, "from describe");
    assert_eq!((e.requests, e.failed), (2, 2));
    assert_eq!(e.errors.get("denied"), Some(&2));
    assert_eq!(s.totals.iterations, 6);
    assert_eq!(server.seen.path("/ok"), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_responses_time_out() {
    let server = start_server().await;
    let mut cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::iterations(4),
        &[("TASKS", "get"), ("PATH", "/slow/3000"), ("NAME", "slow")],
    );
    cfg.request_timeout = Duration::from_millis(200);
    let s = go(cfg).await;
    let e = endpoint(&s, "slow");
    assert_eq!(e.errors.get("timeout"), Some(&4));
    // Measured until the timeout fired, not longer.
    assert!(e.duration.max < 2000.0, "max {}ms", e.duration.max);
    assert!(e.duration.min >= 190.0, "min {}ms", e.duration.min);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_redirects_and_gzip() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::iterations(20),
        &[("TASKS", "cookies,redirect")],
    );
    let s = go(cfg).await;
    for c in &s.checks {
        assert_eq!(c.fails, 0, "check {} failed: {:?}", c.name, s.checks);
        assert!(c.passes > 0);
    }
    let cookie_checks = s
        .checks
        .iter()
        .find(|c| c.name == "cookie sent back")
        .unwrap();
    assert_eq!(server.seen.path("/cookie/check"), cookie_checks.passes);
    assert!(server.seen.path("/redirect") > 0);
    // The redirect's target was fetched once per redirect.
    assert_eq!(server.seen.path("/redirect"), server.seen.path("/ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_reads_sets_and_clears_its_cookie_jar() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        1,
        Load::iterations(2),
        &[("TASKS", "jar")],
    );
    let s = go(cfg).await;
    assert_eq!(s.checks.len(), 5, "{:?}", s.checks);
    for c in &s.checks {
        assert_eq!((c.passes, c.fails), (2, 0), "{}: {:?}", c.name, s.checks);
    }
    // The server's cookie and the one the scenario set went out together.
    let sent: Vec<Vec<String>> = server
        .seen
        .echoes
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.path == "/echo/jar")
        .map(|e| {
            let mut c: Vec<String> = e
                .header("cookie")
                .unwrap_or_default()
                .split("; ")
                .map(str::to_string)
                .collect();
            c.sort();
            c
        })
        .collect();
    assert_eq!(sent, [["session=abc123", "team=t1"]; 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_phases_mean_the_same_on_http1_and_http2() {
    use stampede::client::{ClientConfig, Request, SystemResolver, VuClient, tls};
    use std::sync::Arc;
    // A 4 MiB upload to a route that reads it all, then waits 50 ms to answer.
    let (plain, secure) = (start_server().await, start_tls_server().await);
    let dir = scratch_dir("phases");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, secure.ca_pem.as_ref().unwrap()).unwrap();
    let body = bytes::Bytes::from(vec![b'u'; 4 << 20]);
    for (server, version) in [(&plain, "HTTP/1.1"), (&secure, "HTTP/2.0")] {
        let tls = tls::client_config(std::slice::from_ref(&ca), false).unwrap();
        let mut client = VuClient::new(Arc::new(ClientConfig::new(tls)), Arc::new(SystemResolver));
        let req = Request {
            method: http::Method::POST,
            url: Arc::new(format!("{}/slow/50", server.url()).parse().unwrap()),
            headers: Vec::new(),
            body: body.clone(),
            timeout: None,
            read_body: true,
            read_headers: false,
            follow_redirects: true,
        };
        let (res, m) = client.send(req).await;
        assert_eq!(res.unwrap().status, 200);
        assert_eq!(server.seen.version(version), 1, "{version}");
        let t = m.timings;
        // Sending is the upload; waiting is the server's 50 ms after it, not the upload.
        assert!(t.send_us > 0, "{version}: {t:?}");
        assert!(
            (50_000..t.total_us).contains(&t.wait_us),
            "{version}: {t:?}"
        );
        assert!(
            t.send_us + t.wait_us + t.receive_us <= t.total_us,
            "{version}: {t:?}"
        );
    }
}

/// A probe run against the TLS `server`, trusting its own CA (written under `dir`).
fn trusting(
    server: &TestServer,
    dir: &str,
    vus: u32,
    iterations: u64,
    env: &[(&str, &str)],
) -> RunConfig {
    let ca = scratch_dir(dir).join("ca.pem");
    std::fs::write(&ca, server.ca_pem.as_ref().unwrap()).unwrap();
    let mut cfg = config(
        PROBE_WASM,
        &server.url(),
        vus,
        Load::iterations(iterations),
        env,
    );
    cfg.ca_certs = vec![ca];
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_own_ca_negotiates_http2() {
    let server = start_tls_server().await;
    let cfg = trusting(
        &server,
        "tls-ca",
        2,
        20,
        &[("TASKS", "get"), ("NAME", "tls")],
    );
    let s = go(cfg).await;
    assert_eq!(endpoint(&s, "tls").requests, 20);
    assert_eq!(s.totals.http_req_failed, 0, "{:?}", s.errors);
    assert_eq!(server.seen.version("HTTP/2.0"), 20);
    assert!(s.http_req_tls_handshaking.max > 0.0);

    // Without the CA the certificate is refused.
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        1,
        Load::iterations(2),
        &[("TASKS", "get"), ("NAME", "tls")],
    );
    let s = go(cfg).await;
    assert_eq!(endpoint(&s, "tls").errors.get("tls"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_task_fails_its_iteration_and_the_run_goes_on() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        1,
        Load::iterations(10),
        &[("TASKS", "trap_every_other")],
    );
    let s = go(cfg).await;
    // Each trap replaces the instance, whose call counter restarts: odd calls request,
    // even calls trap, so requests and traps alternate.
    assert_eq!(s.totals.iterations, 10);
    assert_eq!(s.totals.iterations_failed, 5);
    assert_eq!(s.totals.http_reqs, 5);
    let e = &s.errors[0];
    assert_eq!(e.count, 5);
    assert!(
        e.message.starts_with("trap_every_other: trap:")
            && e.message.contains("probe/src/lib.rs:")
            && e.message.ends_with(": boom on call 2)"),
        "{}",
        e.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_task_exhausts_its_fuel() {
    let server = start_server().await;
    let mut cfg = config(
        PROBE_WASM,
        &server.url(),
        1,
        Load::iterations(2),
        &[("TASKS", "spin")],
    );
    cfg.limits.fuel_per_call = 5_000_000;
    let s = go(cfg).await;
    assert_eq!(s.totals.iterations_failed, 2);
    assert_eq!(
        s.errors[0].message,
        "spin: exceeded CPU budget of 5000000 fuel units"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_failures_and_setup_failures_are_reported() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        1,
        Load::iterations(3),
        &[("TASKS", "fail")],
    );
    let s = go(cfg).await;
    assert_eq!(s.errors[0].message, "fail: scenario says no");
    assert_eq!(s.errors[0].count, 3);

    let cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::iterations(4),
        &[("TASKS", "get"), ("FAIL_START", "1")],
    );
    let s = go(cfg).await;
    assert_eq!(s.totals.http_reqs, 0);
    assert_eq!(s.totals.iterations_failed, 4);
    assert_eq!(s.errors[0].message, "on_start: setup refused by FAIL_START");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_metrics_are_aggregated() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::iterations(10),
        &[("TASKS", "custom")],
    );
    let s = go(cfg).await;
    let m = |n: &str| s.custom.iter().find(|c| c.name == n).unwrap();
    assert_eq!(
        (m("widgets").kind.as_str(), m("widgets").value),
        ("counter", 20.0)
    );
    assert_eq!(m("widget_ok").value, 1.0);
    assert_eq!(m("widget_level").value, 7.0);
    let t = m("widget_ms").trend.as_ref().unwrap();
    assert_eq!(t.count, 10);
    assert!((t.med - 5.0).abs() < 0.01);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_kept_apart_by_the_tags_thresholds_filter_by() {
    let server = start_server().await;
    let mut cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::iterations(6),
        &[("TASKS", "tagged")],
    );
    cfg.tags = [("env".to_string(), "ci".to_string())].into();
    cfg.request_tags = [("type", "API"), ("env", "ci"), ("method", "POST")]
        .map(|(k, v)| vec![(k.to_string(), v.to_string())])
        .to_vec();
    let s = go(cfg).await;
    let t = |tag: &str| {
        let t = s.tagged.iter().find(|t| t.tag == tag).unwrap();
        (t.requests, t.duration.count)
    };
    // Each task's first request carries no tag: the last task's went when it returned.
    assert_eq!(t("type:API"), (6, 6));
    assert_eq!(
        t("env:ci"),
        (12, 12),
        "the scenario's tags are every request's"
    );
    assert_eq!(t("method:POST"), (0, 0));
    assert_eq!(s.totals.checks_failed, 0, "{:?}", s.checks);
    assert_eq!(s.totals.checks_passed, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_in_flight_at_once_and_its_bodies_are_bounded_by_the_memory_cap() {
    let server = start_server().await;
    let mut cfg = config(
        PROBE_WASM,
        &server.url(),
        1,
        Load::iterations(1),
        &[("TASKS", "batch"), ("BIG", "3145728")],
    );
    // Half of it for a batch's bodies: the first 3 MiB body fits, the others do not.
    cfg.limits.memory_cap = 8 << 20;
    cfg.memory_cap_chosen = true;
    let s = go(cfg).await;
    assert_eq!(s.totals.checks_failed, 0, "{:?}\n{:?}", s.checks, s.errors);
    assert_eq!(s.totals.checks_passed, 5);
    assert_eq!(server.seen.dwell.lock().unwrap()["probe"], (0, 4));
    let by = |n: &str| s.endpoints.iter().find(|e| e.name == n).unwrap();
    assert_eq!((by("dwell").requests, by("dwell").failed), (4, 0));
    assert_eq!(
        by("bad").errors.get("invalid_url"),
        Some(&1),
        "{:?}",
        by("bad")
    );
    // All three were sent and measured; the two past the budget are failed, named.
    assert_eq!(by("big").requests, 3);
    assert_eq!(
        by("big").errors.get("too_large"),
        Some(&2),
        "{:?}",
        by("big")
    );
    assert_eq!(server.seen.by_path.lock().unwrap().get("/never"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_http2_shares_the_vus_one_connection() {
    let server = start_tls_server().await;
    let cfg = trusting(
        &server,
        "batch-h2",
        1,
        3,
        &[("TASKS", "batch"), ("WARM", "1")],
    );
    let s = go(cfg).await;
    assert_eq!(s.totals.checks_failed, 0, "{:?}\n{:?}", s.checks, s.errors);
    // Each batch's four requests were in flight at once, on the one connection the
    // VU's first request opened, as k6 multiplexes them.
    assert_eq!(server.seen.dwell.lock().unwrap()["probe"], (0, 4));
    assert_eq!(server.seen.version("HTTP/2.0"), 3 * 5);
    assert_eq!(server.seen.connection_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_http2_connection_whose_requests_timed_out_is_not_kept() {
    let server = start_tls_server().await;
    let env = [("TASKS", "batch"), ("WARM", "1")];
    let mut cfg = trusting(&server, "batch-h2-timeout", 1, 3, &env);
    // The batch's requests dwell 200 ms: each times out on the shared connection.
    cfg.request_timeout = Duration::from_millis(100);
    let s = go(cfg).await;
    let by = |n: &str| s.endpoints.iter().find(|e| e.name == n).unwrap();
    assert_eq!(
        by("dwell").errors.get("timeout"),
        Some(&12),
        "{:?}",
        by("dwell")
    );
    assert_eq!(by("warm").failed, 0);
    // A connection half-used by timed-out requests is not trusted again (as on
    // HTTP/1.1): each iteration's first request opens a new one.
    assert_eq!(server.seen.connection_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_still_summarises_what_it_measured() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        3,
        Load::duration(Duration::from_secs(600)),
        &[("TASKS", "get"), ("WAIT_MS", "5")],
    );
    let stop = StopSignals {
        graceful: Box::pin(tokio::time::sleep(Duration::from_millis(700))),
        hard: Box::pin(std::future::pending()),
        ..StopSignals::none()
    };
    let s = run(cfg, stop, |_| {}).await.unwrap();
    assert!(s.interrupted.is_some());
    assert!(s.duration_s < 30.0);
    assert!(s.totals.http_reqs > 0);
    // Every request the server answered was recorded (none lost in VU buffers).
    assert_eq!(s.totals.http_reqs, server.seen.path("/ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_plugin_against_the_demo_target() {
    let demo = stampede_demo::serve("127.0.0.1:0".parse().unwrap(), Default::default())
        .await
        .unwrap();
    let cfg = config(
        SMOKE_WASM,
        &format!("http://{}", demo.addr),
        5,
        Load::iterations(60),
        &[("WAIT_MIN_MS", "0"), ("WAIT_MAX_MS", "1")],
    );
    let s = go(cfg).await;
    let st = &demo.shop.stats;
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(s.totals.http_req_failed, 0, "{:?}", s.errors);
    assert_eq!(st.logins.load(SeqCst), 5, "one login per VU");
    assert_eq!(endpoint(&s, "POST /api/v1/auth/login").requests, 5);
    let lists = st.product_lists.load(SeqCst);
    let views = st.product_views.load(SeqCst);
    let me = st.me.load(SeqCst);
    assert_eq!(lists + views + me, 60);
    assert_eq!(endpoint(&s, "GET /api/v1/products").requests, lists);
    assert_eq!(st.unauthorized.load(SeqCst), 0);
    // Weights 3:2:1 over 60 picks: each task ran.
    assert!(lists > views.min(me) && views > 0 && me > 0);
    assert_eq!(s.totals.checks_failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_components_are_cached() {
    let engine = stampede::engine::engine(stampede::engine::EngineSettings {
        max_instances: 1,
        memory_cap: 16 << 20,
        fuel: true,
        epoch: true,
    })
    .unwrap();
    let dir = scratch_dir("cache-test");
    let bytes = std::fs::read(PROBE_WASM).unwrap();
    let path = std::path::Path::new(PROBE_WASM);
    let a = stampede::engine::load_component(&engine, path, &bytes, Some(&dir)).unwrap();
    let b = stampede::engine::load_component(&engine, path, &bytes, Some(&dir)).unwrap();
    assert!(!a.cache_hit && b.cache_hit);
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_json_round_trips_losslessly() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::iterations(50),
        &[("TASKS", "get")],
    );
    let s = go(cfg).await;
    let back = stampede_tests::summary_from_json(&stampede_tests::summary_to_json(&s)).unwrap();
    assert_eq!(back, s);
    let t = back.http_req_duration.trend().unwrap();
    assert_eq!(t.count(), 50);
    assert!((t.percentile(95.0) as f64 / 1000.0 - s.http_req_duration.p95).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_interrupt_cuts_running_iterations_off() {
    let server = start_server().await;
    let cfg = config(
        PROBE_WASM,
        &server.url(),
        2,
        Load::duration(Duration::from_secs(600)),
        &[("TASKS", "get"), ("PATH", "/slow/20000"), ("NAME", "stuck")],
    );
    let stop = StopSignals {
        graceful: Box::pin(tokio::time::sleep(Duration::from_millis(300))),
        hard: Box::pin(async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            stampede::run::Cut::ByUser
        }),
        ..StopSignals::none()
    };
    let begin = std::time::Instant::now();
    let s = run(cfg, stop, |_| {}).await.unwrap();
    // Neither the 10 s graceful stop nor the 20 s request was waited for.
    assert!(
        begin.elapsed() < Duration::from_secs(5),
        "{:?}",
        begin.elapsed()
    );
    assert!(
        s.interrupted.as_deref().unwrap().contains("cut off"),
        "{:?}",
        s.interrupted
    );
    assert_eq!(server.seen.path("/slow/20000"), 2);
}
