//! Merging segment summaries: time and peak memory.

use std::sync::Arc;
use std::time::Instant;

use crate::harness::*;

/// `stampede merge` of 100 segments of a 10-endpoint, 60-second run (10,000 requests
/// per segment, 1,000 per endpoint, latencies 1-500 ms): wall time and peak memory,
/// and the merged percentiles against one histogram of all the samples.
pub(crate) fn merge_cost() {
    use stampede::metrics::aggregate::{Aggregator, RunMeta};
    use stampede::metrics::event::{Event, RequestSample};
    use stampede::metrics::summary::{ScenarioInfo, SegmentInfo};
    use stampede::metrics::{Names, Trend};
    let (segments, endpoints, per_endpoint) = (100u32, 10u32, 1_000u64);
    let dir = std::env::temp_dir().join("stampede-bench-merge");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut all = Trend::new();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut files = Vec::new();
    for seg in 0..segments {
        let names = Arc::new(Names::new(100));
        let ids: Vec<_> = (0..endpoints)
            .map(|e| names.intern(&format!("GET /api/v1/endpoint/{e}")))
            .collect();
        let mut agg = Aggregator::new(names);
        for (e, id) in ids.iter().enumerate() {
            for k in 0..per_endpoint {
                // Each endpoint its own spread, up to 500 ms.
                let us = rng.u64(1_000..=(50_000 * (e as u64 + 1)));
                all.record(us);
                agg.add(&Event::Request(RequestSample {
                    verdict: Default::default(),
                    method: Default::default(),
                    tags: None,
                    name: *id,
                    status: 200,
                    error: None,
                    at_ms: (k * 60_000 / per_endpoint) as u32,
                    duration_us: us,
                    waiting_us: us,
                    connecting_us: 0,
                    tls_us: 0,
                    bytes_sent: 100,
                    bytes_received: 1_000,
                    trace: None,
                }));
            }
        }
        let s = agg.summary(RunMeta {
            scenario: ScenarioInfo {
                name: "bench".into(),
                file: "bench.wasm".into(),
                sha256: "00".into(),
                tags: Default::default(),
            },
            target: None,
            started_at_ms: 0,
            duration_s: 60.0,
            model: "closed".into(),
            vus_max: 10,
            interrupted: None,
            aborted: None,
            warnings: vec![],
            run_errors: vec![],
            dropped_iterations: 0,
            segment: Some(SegmentInfo {
                index: seg + 1,
                count: segments,
            }),
            fingerprint: "bench".into(),
            peak_rss_kib: 0,
        });
        let f = dir.join(format!("seg-{seg}.json"));
        std::fs::write(&f, stampede_tests::summary_to_json(&s)).unwrap();
        files.push(f);
    }
    let bytes: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    let hwm_before = vm_hwm_kib();
    let t0 = Instant::now();
    let parts: Vec<(String, stampede::metrics::Summary)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            (
                f.display().to_string(),
                stampede_tests::summary_from_json(&text).unwrap(),
            )
        })
        .collect();
    let merged = stampede::metrics::segments::merge_segments(parts, false).unwrap();
    let elapsed = t0.elapsed();
    let hwm = vm_hwm_kib();
    let diff = |p: f64, got: f64| (got - all.percentile(p) as f64 / 1000.0).abs();
    let t = &merged.http_req_duration;
    println!(
        "merge: {segments} segments x {endpoints} endpoints ({:.1} MB of JSON, {} requests) in {:.0} ms; process peak memory {:.0} MiB, generating them included (+{:.0} MiB during the merge); merged vs one histogram of every sample: |Δp50| {:.3} ms, |Δp95| {:.3} ms, |Δp99| {:.3} ms",
        bytes as f64 / 1e6,
        merged.totals.http_reqs,
        elapsed.as_secs_f64() * 1e3,
        hwm as f64 / 1024.0,
        hwm.saturating_sub(hwm_before) as f64 / 1024.0,
        diff(50.0, t.med),
        diff(95.0, t.p95),
        diff(99.0, t.p99)
    );
}
