//! `--out prometheus-rw=URL`: the families as a Prometheus remote-write 1.0 request
//! (the `prometheus.WriteRequest` protobuf, encoded by `prost`, snappy-compressed).

use prost::Message;

use super::families::{Family, Kind, Value, bounds_seconds};

/// `prometheus/prompb/types.proto`, the fields remote write 1.0 sends.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Sorted by name, `__name__` among them.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The headers remote write 1.0 asks for.
pub const HEADERS: [(&str, &str); 3] = [
    ("content-type", "application/x-protobuf"),
    ("content-encoding", "snappy"),
    ("x-prometheus-remote-write-version", "0.1.0"),
];

/// One sample of every series at `at_ms`, in Prometheus' naming: `stampede_NAME[_UNIT]`
/// with `_total` on counters, and `_bucket`/`_sum`/`_count` series for histograms.
pub fn write_request(families: &[Family], at_ms: i64) -> WriteRequest {
    let bounds = bounds_seconds();
    let mut timeseries = Vec::new();
    let mut push =
        |name: String, labels: &[(String, String)], extra: Option<(&str, String)>, value: f64| {
            let mut l: Vec<Label> = labels
                .iter()
                .map(|(n, v)| Label {
                    name: n.clone(),
                    value: v.clone(),
                })
                .collect();
            if let Some((n, v)) = extra {
                l.push(Label {
                    name: n.to_string(),
                    value: v,
                });
            }
            l.push(Label {
                name: "__name__".into(),
                value: name,
            });
            l.sort_by(|a, b| a.name.cmp(&b.name));
            timeseries.push(TimeSeries {
                labels: l,
                samples: vec![Sample {
                    value,
                    timestamp: at_ms,
                }],
            });
        };
    for f in families {
        let base = match f.unit {
            Some(u) => format!("stampede_{}_{u}", f.name),
            None => format!("stampede_{}", f.name),
        };
        for p in &f.points {
            match (&p.value, f.kind) {
                (Value::Number(n), Kind::Counter) => {
                    push(format!("{base}_total"), &p.labels, None, *n as f64)
                }
                (Value::Number(n), _) => push(base.clone(), &p.labels, None, *n as f64),
                (
                    Value::Histogram {
                        count,
                        sum,
                        buckets,
                    },
                    _,
                ) => {
                    let mut cumulative = 0;
                    for (le, n) in bounds.iter().zip(buckets) {
                        cumulative += n;
                        // As the scraped text writes them ("1.0", "+Inf"), so a query
                        // on `le` reads both alike.
                        let le = if le.is_infinite() {
                            "+Inf".to_string()
                        } else if le.fract() == 0.0 {
                            format!("{le:.1}")
                        } else {
                            le.to_string()
                        };
                        push(
                            format!("{base}_bucket"),
                            &p.labels,
                            Some(("le", le)),
                            cumulative as f64,
                        );
                    }
                    push(format!("{base}_sum"), &p.labels, None, *sum);
                    push(format!("{base}_count"), &p.labels, None, *count as f64);
                }
            }
        }
    }
    WriteRequest { timeseries }
}

/// The request body: the protobuf, snappy-compressed (the block format, not framed).
pub fn body(req: &WriteRequest) -> Vec<u8> {
    let raw = req.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        // Only fails on inputs over 2^32 bytes; a run's figures are far smaller.
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::families::Point;

    #[test]
    fn series_are_named_as_prometheus_does_and_round_trip() {
        let fams = vec![
            Family {
                name: "http_reqs",
                help: "",
                unit: None,
                kind: Kind::Counter,
                points: vec![Point {
                    labels: vec![("scenario".into(), "s".into()), ("name".into(), "a".into())],
                    value: Value::Number(3),
                }],
            },
            Family {
                name: "http_req_duration",
                help: "",
                unit: Some("seconds"),
                kind: Kind::Histogram,
                points: vec![Point {
                    labels: vec![("scenario".into(), "s".into())],
                    value: Value::Histogram {
                        count: 3,
                        sum: 0.5,
                        buckets: {
                            let mut b = vec![0; bounds_seconds().len()];
                            b[0] = 1;
                            b[2] = 2;
                            b
                        },
                    },
                }],
            },
        ];
        let req = write_request(&fams, 1_000);
        let decoded = WriteRequest::decode(
            snap::raw::Decoder::new()
                .decompress_vec(&body(&req))
                .unwrap()
                .as_slice(),
        )
        .unwrap();
        assert_eq!(decoded, req);
        let find = |name: &str, le: Option<&str>| {
            req.timeseries
                .iter()
                .find(|t| {
                    t.labels
                        .iter()
                        .any(|l| l.name == "__name__" && l.value == name)
                        && le.is_none_or(|le| {
                            t.labels.iter().any(|l| l.name == "le" && l.value == le)
                        })
                })
                .map(|t| t.samples[0].value)
        };
        assert_eq!(find("stampede_http_reqs_total", None), Some(3.0));
        assert_eq!(
            find("stampede_http_req_duration_seconds_bucket", Some("0.001")),
            Some(1.0)
        );
        assert_eq!(
            find("stampede_http_req_duration_seconds_bucket", Some("0.005")),
            Some(3.0)
        );
        assert_eq!(
            find("stampede_http_req_duration_seconds_bucket", Some("+Inf")),
            Some(3.0)
        );
        assert_eq!(
            find("stampede_http_req_duration_seconds_count", None),
            Some(3.0)
        );
        let names: Vec<&str> = req.timeseries[0]
            .labels
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(names, ["__name__", "name", "scenario"]);
    }
}
