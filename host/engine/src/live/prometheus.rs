//! The board in the OpenMetrics text format Prometheus scrapes, encoded by the
//! `prometheus-client` crate (names, escaping, histogram layout).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::board::Board;
use super::families::{Kind, Value, bounds_seconds, families};

/// The content type of what [`encode`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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
        let bounds = bounds_seconds();
        for f in families(&self.0.entries()) {
            let unit = match f.unit {
                Some("seconds") => Some(Unit::Seconds),
                Some("bytes") => Some(Unit::Bytes),
                Some(other) => Some(Unit::Other(other.to_string())),
                None => None,
            };
            let kind = match f.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
                Kind::Histogram => MetricType::Histogram,
            };
            let mut m = enc.encode_descriptor(f.name, f.help, unit.as_ref(), kind)?;
            for p in &f.points {
                let e = m.encode_family(&p.labels)?;
                match (&p.value, f.kind) {
                    (Value::Number(n), Kind::Counter) => ConstCounter::new(*n).encode(e)?,
                    (Value::Number(n), _) => ConstGauge::new(*n as i64).encode(e)?,
                    (
                        Value::Histogram {
                            count,
                            sum,
                            buckets,
                            ..
                        },
                        _,
                    ) => {
                        let b: Vec<(f64, u64)> = bounds
                            .iter()
                            .copied()
                            .zip(buckets.iter().copied())
                            .collect();
                        let mut e = e;
                        e.encode_histogram::<NoLabelSet>(*sum, *count, &b, None)?
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Snapshot;
    use crate::metrics::snapshot::{Buckets, EndpointSnapshot, LATENCY_BOUNDS_US};

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
                0,
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
                    exemplars: vec![],
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
}
