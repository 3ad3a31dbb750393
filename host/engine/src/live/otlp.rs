//! `--out otlp=URL`: the families as an OpenTelemetry metrics export over
//! HTTP/protobuf (`ExportMetricsServiceRequest` from the `opentelemetry-proto` crate),
//! cumulative from the run's start, so a collector sees what Prometheus scrapes.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exemplar, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::families::{Family, Kind, Value, bounds_seconds};

pub const CONTENT_TYPE: &str = "application/x-protobuf";

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

/// One data point per series, cumulative from `start_ns` to `now_ns`. Metric names
/// are `stampede.NAME`; units in UCUM (`s`, `By`).
pub fn export_request(
    families: &[Family],
    start_ns: u64,
    now_ns: u64,
) -> ExportMetricsServiceRequest {
    // Finite bounds only: OTLP's last bucket is implicitly unbounded.
    let bounds: Vec<f64> = bounds_seconds()
        .into_iter()
        .filter(|b| b.is_finite())
        .collect();
    let cumulative = AggregationTemporality::Cumulative as i32;
    let metrics = families
        .iter()
        .map(|f| {
            let attrs = |labels: &[(String, String)]| -> Vec<KeyValue> {
                labels.iter().map(|(k, v)| attribute(k, v)).collect()
            };
            let number = |labels: &[(String, String)], n: u64| NumberDataPoint {
                attributes: attrs(labels),
                start_time_unix_nano: start_ns,
                time_unix_nano: now_ns,
                value: Some(number_data_point::Value::AsInt(
                    n.min(i64::MAX as u64) as i64
                )),
                ..Default::default()
            };
            let numbers = || {
                f.points
                    .iter()
                    .filter_map(|p| match &p.value {
                        Value::Number(n) => Some(number(&p.labels, *n)),
                        Value::Histogram { .. } => None,
                    })
                    .collect()
            };
            let data = match f.kind {
                Kind::Counter => metric::Data::Sum(Sum {
                    data_points: numbers(),
                    aggregation_temporality: cumulative,
                    is_monotonic: true,
                }),
                Kind::Gauge => metric::Data::Gauge(Gauge {
                    data_points: numbers(),
                }),
                Kind::Histogram => metric::Data::Histogram(Histogram {
                    data_points: f
                        .points
                        .iter()
                        .filter_map(|p| match &p.value {
                            Value::Histogram {
                                count,
                                sum,
                                buckets,
                                exemplars,
                            } => Some(HistogramDataPoint {
                                attributes: attrs(&p.labels),
                                start_time_unix_nano: start_ns,
                                time_unix_nano: now_ns,
                                count: *count,
                                sum: Some(*sum),
                                bucket_counts: buckets.clone(),
                                explicit_bounds: bounds.clone(),
                                exemplars: exemplars.iter().map(exemplar).collect(),
                                ..Default::default()
                            }),
                            Value::Number(_) => None,
                        })
                        .collect(),
                    aggregation_temporality: cumulative,
                }),
            };
            Metric {
                name: format!("stampede.{}", f.name),
                description: f.help.to_string(),
                unit: match f.unit {
                    Some("seconds") => "s",
                    Some("bytes") => "By",
                    _ => "1",
                }
                .to_string(),
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![attribute("service.name", "stampede")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "stampede".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A traced request, its ids as the bytes OTLP carries.
fn exemplar(x: &super::families::Exemplar) -> Exemplar {
    let bytes = |hex: &str| -> Vec<u8> {
        (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
            .collect()
    };
    Exemplar {
        time_unix_nano: x.at_unix_ms.saturating_mul(1_000_000),
        trace_id: bytes(&x.trace_id),
        span_id: bytes(&x.span_id),
        value: Some(exemplar::Value::AsDouble(x.value)),
        ..Default::default()
    }
}

pub fn body(req: &ExportMetricsServiceRequest) -> Vec<u8> {
    req.encode_to_vec()
}
