//! `--trace-context`: the target sees a W3C `traceparent` on every request (one trace
//! per iteration, one span per request), and the slowest traced requests are named in
//! the reports by their trace ids.

use std::collections::HashMap;

use stampede_tests::*;

use crate::kit::run_cli;

fn traceparents(server: &TestServer) -> Vec<String> {
    server
        .seen
        .echoes
        .lock()
        .unwrap()
        .iter()
        .map(|e| {
            let all: Vec<&(String, String)> = e
                .headers
                .iter()
                .filter(|(k, _)| k == "traceparent")
                .collect();
            assert!(all.len() <= 1, "{:?}", e.headers);
            all.first().map(|(_, v)| v.clone()).unwrap_or_default()
        })
        .collect()
}

const OWN: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_carries_a_trace_context_and_the_slowest_are_reported() {
    let server = start_server().await;
    let dir = scratch_dir("trace-context");
    let cache = stampede_tests::compile_cache();
    let (target, d) = (server.url(), dir.clone());
    let out = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "run",
                PROBE_WASM,
                "--target",
                &target,
                "--vus",
                "2",
                "--iterations",
                "30",
                "--env",
                "TASKS=twice,own_trace",
                "--env",
                "PATH=/echo/t",
                "--trace-context",
                "--summary-json",
                d.join("s.json").to_str().unwrap(),
                "--html",
                d.join("r.html").to_str().unwrap(),
            ],
            &cache,
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let sent = traceparents(&server);
    assert_eq!(sent.len() as u64, server.seen.path("/echo/t"));
    // The scenario's own trace context goes out as it is; every other request has one
    // of ours: one trace per iteration of `twice`, a span of its own per request.
    let own = sent.iter().filter(|t| *t == OWN).count();
    let mut traces: HashMap<&str, Vec<&str>> = HashMap::new();
    for t in sent.iter().filter(|t| *t != OWN) {
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!(parts.len(), 4, "{t}");
        assert_eq!((parts[0], parts[3]), ("00", "01"), "{t}");
        assert!(parts[1].len() == 32 && parts[2].len() == 16, "{t}");
        assert!(
            parts[1..3].iter().all(|p| p
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())),
            "{t}"
        );
        traces.entry(parts[1]).or_default().push(parts[2]);
    }
    assert!(own > 0 && !traces.is_empty(), "{sent:?}");
    assert_eq!(own + 2 * traces.len(), sent.len());
    for (trace, spans) in &traces {
        assert_eq!(spans.len(), 2, "trace {trace}: {spans:?}");
        assert_ne!(spans[0], spans[1], "trace {trace}");
    }

    // The reports: each endpoint's slowest traced requests, by ids the target saw.
    let s = summary_from_json(&std::fs::read_to_string(dir.join("s.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(dir.join("r.html")).unwrap();
    assert!(
        html.contains("Slowest traced requests"),
        "no exemplars in the HTML"
    );
    for e in &s.endpoints {
        assert!(
            !e.exemplars.is_empty() && e.exemplars.len() <= 5,
            "{}: {:?}",
            e.name,
            e.exemplars
        );
        let durations: Vec<f64> = e.exemplars.iter().map(|x| x.duration_ms).collect();
        assert!(durations.windows(2).all(|w| w[0] >= w[1]), "{durations:?}");
        assert!(
            durations[0] <= e.duration.max + 0.01,
            "{durations:?} max {}",
            e.duration.max
        );
        for x in &e.exemplars {
            assert!(html.contains(&x.trace_id), "{} not in the HTML", x.trace_id);
            if e.name == "own trace" {
                assert_eq!(x.trace_id, "0af7651916cd43dd8448eb211c80319c");
            } else {
                assert!(
                    traces
                        .get(x.trace_id.as_str())
                        .is_some_and(|spans| spans.contains(&x.span_id.as_str())),
                    "{x:?}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsampled_clears_the_flag_and_without_the_flag_nothing_is_added() {
    let server = start_server().await;
    let dir = scratch_dir("trace-context-off");
    let cache = stampede_tests::compile_cache();
    let run = |flags: &'static [&'static str]| {
        let (target, cache, json) = (server.url(), cache.clone(), dir.join("s.json"));
        tokio::task::spawn_blocking(move || {
            let j = json.to_str().unwrap();
            let mut args = vec![
                "run",
                PROBE_WASM,
                "--target",
                &target,
                "--iterations",
                "2",
                "--env",
                "TASKS=twice",
                "--env",
                "PATH=/echo/t",
                "--summary-json",
                j,
            ];
            args.extend_from_slice(flags);
            run_cli(&args, &cache, &[])
        })
    };
    let out = run(&["--trace-context", "unsampled"]).await.unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sent = traceparents(&server);
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|t| t.ends_with("-00")), "{sent:?}");
    server.seen.echoes.lock().unwrap().clear();
    let out = run(&[]).await.unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(traceparents(&server).iter().all(String::is_empty));
    let json = std::fs::read_to_string(dir.join("s.json")).unwrap();
    assert!(!json.contains("exemplars"), "{json}");
}

/// What each `/echo/trace-*` request carried, by path: its flags (`01`, `00`), or ``.
fn by_path(server: &TestServer) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for e in server.seen.echoes.lock().unwrap().iter() {
        let t = e.header("traceparent").unwrap_or("");
        let flags = t.rsplit('-').next().filter(|_| !t.is_empty()).unwrap_or("");
        out.entry(e.path.trim_start_matches("/echo/").to_string())
            .or_default()
            .push(flags.to_string());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_chooses_trace_context_per_request_over_the_runs() {
    let server = start_server().await;
    let cache = stampede_tests::compile_cache();
    let run = |flags: &'static [&'static str]| {
        let (target, cache) = (server.url(), cache.clone());
        tokio::task::spawn_blocking(move || {
            let mut args = vec![
                "run",
                PROBE_WASM,
                "--target",
                &target,
                "--iterations",
                "2",
                "--env",
                "TASKS=traced",
                "-q",
            ];
            args.extend_from_slice(flags);
            run_cli(&args, &cache, &[])
        })
    };
    let want = |run: &str| {
        let pairs = [
            ("trace-sampled", "01"),
            ("trace-run", run),
            ("trace-unsampled", "00"),
            ("trace-off", ""),
            ("trace-run-again", run),
        ];
        pairs
            .iter()
            .map(|(p, f)| (p.to_string(), vec![f.to_string(); 2]))
            .collect::<HashMap<_, _>>()
    };
    for (flags, run_flags) in [
        (&[][..], ""),
        (&["--trace-context"][..], "01"),
        (&["--trace-context", "unsampled"][..], "00"),
    ] {
        let out = run(flags).await.unwrap();
        assert_eq!(out.code, 0, "{flags:?}: {}", out.stderr);
        assert_eq!(by_path(&server), want(run_flags), "{flags:?}");
        server.seen.echoes.lock().unwrap().clear();
    }
}
