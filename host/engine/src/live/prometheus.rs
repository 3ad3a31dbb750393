//! The board in the OpenMetrics text format Prometheus scrapes, encoded by the
//! `prometheus-client` crate (names, escaping, histogram layout).
//!
//! Every series carries `scenario` and the run's tags; request series carry `name`,
//! and `status` (and `error` when no response came, with `status="0"` as k6 has it).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::board::{Board, Entry};
use crate::metrics::snapshot::LATENCY_BOUNDS_US;

/// The content type of what [`encode`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels this output sets itself; a run tag of the same name is renamed `tag_NAME`.
const OWN_LABELS: [&str; 7] = [
    "scenario", "name", "status", "error", "check", "result", "le",
];

type Labels = Vec<(String, String)>;

/// A registry whose one collector reads `board` at every scrape.
pub fn registry(board: Arc<Board>) -> Registry {
    let mut r = Registry::with_prefix("stampede");
    r.register_collector(Box::new(BoardCollector(board)));
    r
}

/// The whole exposition, ending with OpenMetrics' `# EOF`.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

#[derive(Debug)]
struct BoardCollector(Arc<Board>);

impl Collector for BoardCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let entries = self.0.entries();
        let runs: Vec<(Labels, &Entry)> = entries.iter().map(|e| (base_labels(e), e)).collect();
        let with = |base: &Labels, more: &[(&str, &str)]| -> Labels {
            let mut l = base.clone();
            l.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            l
        };

        let mut m = enc.encode_descriptor(
            "http_reqs",
            "HTTP requests sent, by name and status (status 0: no response, see error)",
            None,
            MetricType::Counter,
        )?;
        for (base, e) in &runs {
            for ep in &e.snapshot.endpoints {
                for (status, n) in &ep.status {
                    let s = status.to_string();
                    counter(
                        &mut m,
                        &with(base, &[("name", &ep.name), ("status", &s)]),
                        *n,
                    )?;
                }
                for (kind, n) in &ep.errors {
                    let l = with(
                        base,
                        &[("name", &ep.name), ("status", "0"), ("error", kind)],
                    );
                    counter(&mut m, &l, *n)?;
                }
            }
        }

        let mut m = enc.encode_descriptor(
            "http_req_failed",
            "HTTP requests that failed (an error or a failing status)",
            None,
            MetricType::Counter,
        )?;
        for (base, e) in &runs {
            for ep in &e.snapshot.endpoints {
                counter(&mut m, &with(base, &[("name", &ep.name)]), ep.failed)?;
            }
        }

        let mut m = enc.encode_descriptor(
            "http_req_duration",
            "HTTP request duration, from the first byte sent to the last received",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        let bounds: Vec<f64> = LATENCY_BOUNDS_US
            .iter()
            .map(|b| *b as f64 / 1e6)
            .chain([f64::INFINITY])
            .collect();
        for (base, e) in &runs {
            for ep in &e.snapshot.endpoints {
                let d = &ep.duration;
                let buckets: Vec<(f64, u64)> = bounds
                    .iter()
                    .copied()
                    .zip(d.buckets.iter().copied())
                    .collect();
                let labels = with(base, &[("name", &ep.name)]);
                m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                    d.sum_us as f64 / 1e6,
                    d.count,
                    &buckets,
                    None,
                )?;
            }
        }

        for (metric, help, unit, pick) in [
            (
                "data_sent",
                "Bytes sent in requests",
                Unit::Bytes,
                (|e: &Entry| e.snapshot.endpoints.iter().map(|x| x.data_sent).sum())
                    as fn(&Entry) -> u64,
            ),
            (
                "data_received",
                "Bytes received in responses",
                Unit::Bytes,
                |e: &Entry| e.snapshot.endpoints.iter().map(|x| x.data_received).sum(),
            ),
        ] {
            let mut m = enc.encode_descriptor(metric, help, Some(&unit), MetricType::Counter)?;
            for (base, e) in &runs {
                counter(&mut m, base, pick(e))?;
            }
        }

        for (metric, help, pick) in [
            (
                "iterations",
                "Iterations that ended",
                (|e: &Entry| e.snapshot.iterations) as fn(&Entry) -> u64,
            ),
            (
                "iterations_failed",
                "Iterations that ended in an error",
                |e: &Entry| e.snapshot.iterations_failed,
            ),
            (
                "dropped_iterations",
                "Iterations an open model could not start (no VU free)",
                |e: &Entry| e.snapshot.dropped_iterations,
            ),
        ] {
            let mut m = enc.encode_descriptor(metric, help, None, MetricType::Counter)?;
            for (base, e) in &runs {
                counter(&mut m, base, pick(e))?;
            }
        }

        let mut m = enc.encode_descriptor(
            "checks",
            "Checks, by name and result (pass or fail)",
            None,
            MetricType::Counter,
        )?;
        for (base, e) in &runs {
            for (name, pass, fail) in &e.snapshot.checks {
                counter(
                    &mut m,
                    &with(base, &[("check", name), ("result", "pass")]),
                    *pass,
                )?;
                counter(
                    &mut m,
                    &with(base, &[("check", name), ("result", "fail")]),
                    *fail,
                )?;
            }
        }

        let mut m = enc.encode_descriptor("vus", "VUs running", None, MetricType::Gauge)?;
        for (base, e) in &runs {
            ConstGauge::new(e.snapshot.vus as i64).encode(m.encode_family(base)?)?;
        }
        let mut m = enc.encode_descriptor(
            "scenario_finished",
            "1 once the scenario's figures are final",
            None,
            MetricType::Gauge,
        )?;
        for (base, e) in &runs {
            ConstGauge::new(e.snapshot.finished as i64).encode(m.encode_family(base)?)?;
        }
        Ok(())
    }
}

fn counter(
    m: &mut prometheus_client::encoding::MetricEncoder<'_>,
    labels: &Labels,
    value: u64,
) -> Result<(), std::fmt::Error> {
    ConstCounter::new(value).encode(m.encode_family(labels)?)
}

/// `scenario` and the run's tags, their names made valid label names.
fn base_labels(e: &Entry) -> Labels {
    let mut l = vec![("scenario".to_string(), e.scenario.to_string())];
    for (k, v) in &e.tags {
        l.push((label_name(k), v.clone()));
    }
    l
}

/// A tag name as a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not reserved
/// (`__`), not one of this output's own.
fn label_name(tag: &str) -> String {
    let mut s: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) || s.starts_with("__") {
        s.insert_str(0, "tag_");
    }
    if OWN_LABELS.contains(&s.as_str()) {
        s.insert_str(0, "tag_");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Snapshot;
    use crate::metrics::snapshot::{Buckets, EndpointSnapshot};

    #[test]
    fn a_snapshot_is_exposed_with_its_labels_and_cumulative_buckets() {
        let board = Board::new();
        let mut buckets = vec![0; LATENCY_BOUNDS_US.len() + 1];
        buckets[0] = 2;
        buckets[3] = 1;
        board
            .publisher(
                "shop".into(),
                [
                    ("env".to_string(), "staging".to_string()),
                    ("name".into(), "x\"y".into()),
                ]
                .into(),
            )
            .publish(Snapshot {
                endpoints: vec![EndpointSnapshot {
                    name: "GET /a".into(),
                    status: vec![(200, 2), (500, 1)],
                    errors: vec![("timeout", 4)],
                    failed: 5,
                    data_sent: 10,
                    data_received: 20,
                    duration: Buckets {
                        count: 3,
                        sum_us: 12_500,
                        buckets,
                    },
                }],
                checks: vec![("ok".into(), 2, 1)],
                iterations: 7,
                iterations_failed: 1,
                dropped_iterations: 0,
                vus: 3,
                finished: false,
            });
        let text = encode(&registry(board));
        let base = r#"scenario="shop",env="staging",tag_name="x\"y""#;
        for line in [
            format!(r#"stampede_http_reqs_total{{{base},name="GET /a",status="200"}} 2"#),
            format!(
                r#"stampede_http_reqs_total{{{base},name="GET /a",status="0",error="timeout"}} 4"#
            ),
            format!(r#"stampede_http_req_failed_total{{{base},name="GET /a"}} 5"#),
            format!(
                r#"stampede_http_req_duration_seconds_bucket{{le="0.001",{base},name="GET /a"}} 2"#
            ),
            format!(
                r#"stampede_http_req_duration_seconds_bucket{{le="0.01",{base},name="GET /a"}} 3"#
            ),
            format!(
                r#"stampede_http_req_duration_seconds_bucket{{le="+Inf",{base},name="GET /a"}} 3"#
            ),
            format!(r#"stampede_http_req_duration_seconds_sum{{{base},name="GET /a"}} 0.0125"#),
            format!(r#"stampede_data_received_bytes_total{{{base}}} 20"#),
            format!(r#"stampede_checks_total{{{base},check="ok",result="fail"}} 1"#),
            format!(r#"stampede_iterations_total{{{base}}} 7"#),
            format!(r#"stampede_vus{{{base}}} 3"#),
            format!(r#"stampede_scenario_finished{{{base}}} 0"#),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn tag_names_become_valid_label_names() {
        assert_eq!(label_name("team-a.b"), "team_a_b");
        assert_eq!(label_name("9x"), "tag_9x");
        assert_eq!(label_name("__meta"), "tag___meta");
        assert_eq!(label_name("status"), "tag_status");
    }
}
