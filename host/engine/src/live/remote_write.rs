//! `--out prometheus-rw=URL`: the families as a Prometheus remote-write 1.0 request
//! (the `prometheus.WriteRequest` protobuf, encoded by `prost`, snappy-compressed).

use std::collections::HashMap;

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
    /// The traced requests that fell in this bucket series (`--trace-context`).
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Exemplar {
    /// `trace_id` and `span_id`.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
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
pub fn write_request(families: &[Family], at_ms: i64, sent: &mut SentExemplars) -> WriteRequest {
    let bounds = bounds_seconds();
    let mut timeseries = Vec::new();
    for f in families {
        let base = match f.unit {
            Some(u) => format!("stampede_{}_{u}", f.name),
            None => format!("stampede_{}", f.name),
        };
        for p in &f.points {
            match (&p.value, f.kind) {
                (Value::Number(n), Kind::Counter) => {
                    push(
                        &mut timeseries,
                        at_ms,
                        format!("{base}_total"),
                        &p.labels,
                        None,
                        *n as f64,
                    );
                }
                (Value::Number(n), _) => {
                    push(
                        &mut timeseries,
                        at_ms,
                        base.clone(),
                        &p.labels,
                        None,
                        *n as f64,
                    );
                }
                (
                    Value::Histogram {
                        count,
                        sum,
                        buckets,
                        exemplars,
                    },
                    _,
                ) => {
                    let mut series = Vec::with_capacity(bounds.len());
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
                        series.push(push(
                            &mut timeseries,
                            at_ms,
                            format!("{base}_bucket"),
                            &p.labels,
                            Some(("le", le)),
                            cumulative as f64,
                        ));
                    }
                    push(
                        &mut timeseries,
                        at_ms,
                        format!("{base}_sum"),
                        &p.labels,
                        None,
                        *sum,
                    );
                    push(
                        &mut timeseries,
                        at_ms,
                        format!("{base}_count"),
                        &p.labels,
                        None,
                        *count as f64,
                    );
                    let point = format!("{base}{:?}", p.labels);
                    for x in sent.new_ones(&point, exemplars, &bounds) {
                        timeseries[series[x.bucket]].exemplars.push(Exemplar {
                            labels: vec![
                                Label {
                                    name: "trace_id".into(),
                                    value: x.trace_id,
                                },
                                Label {
                                    name: "span_id".into(),
                                    value: x.span_id,
                                },
                            ],
                            value: x.value,
                            timestamp: x.timestamp,
                        });
                    }
                }
            }
        }
    }
    WriteRequest { timeseries }
}

/// What one sink already sent of each histogram's exemplars. Prometheus stores an
/// exemplar only if it is not older than the last one of its series, and the slowest
/// few change as a run goes: each is sent once, when it joins them, its time moved up
/// past its series' last if it began before (the trace id is what leads to the trace).
#[derive(Debug, Default)]
pub struct SentExemplars {
    /// Per histogram point: the span ids last sent, and each bucket's last time.
    points: HashMap<String, (Vec<String>, HashMap<usize, i64>)>,
}

/// An exemplar to send: its bucket, ids, value and time.
struct Outgoing {
    bucket: usize,
    trace_id: String,
    span_id: String,
    value: f64,
    timestamp: i64,
}

impl SentExemplars {
    fn new_ones(
        &mut self,
        point: &str,
        current: &[super::families::Exemplar],
        bounds: &[f64],
    ) -> Vec<Outgoing> {
        let (last, times) = self.points.entry(point.to_string()).or_default();
        // An exemplar that left the slowest few never comes back (a slower one took
        // its place), so the last set is all that must be remembered.
        let mut fresh: Vec<&super::families::Exemplar> = current
            .iter()
            .filter(|x| !last.contains(&x.span_id))
            .collect();
        fresh.sort_by_key(|x| x.at_unix_ms);
        *last = current.iter().map(|x| x.span_id.clone()).collect();
        fresh
            .into_iter()
            .map(|x| {
                let bucket = x.bucket(bounds);
                let t = times.entry(bucket).or_insert(i64::MIN);
                // Strictly later: Prometheus refuses one at its series' last time.
                *t = t.saturating_add(1).max(x.at_unix_ms as i64);
                Outgoing {
                    bucket,
                    trace_id: x.trace_id.clone(),
                    span_id: x.span_id.clone(),
                    value: x.value,
                    timestamp: *t,
                }
            })
            .collect()
    }
}

/// Adds one series of one sample; its index.
fn push(
    timeseries: &mut Vec<TimeSeries>,
    at_ms: i64,
    name: String,
    labels: &[(String, String)],
    extra: Option<(&str, String)>,
    value: f64,
) -> usize {
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
        exemplars: Vec::new(),
    });
    timeseries.len() - 1
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
                        exemplars: vec![crate::live::families::Exemplar {
                            trace_id: "ab".repeat(16),
                            span_id: "cd".repeat(8),
                            value: 0.004,
                            at_unix_ms: 7,
                        }],
                    },
                }],
            },
        ];
        let mut sent = SentExemplars::default();
        let req = write_request(&fams, 1_000, &mut sent);
        // Sent once: the next push carries none of them again.
        let again = write_request(&fams, 2_000, &mut sent);
        assert!(again.timeseries.iter().all(|t| t.exemplars.is_empty()));
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
        let with_exemplar: Vec<_> = req
            .timeseries
            .iter()
            .filter(|t| !t.exemplars.is_empty())
            .collect();
        assert_eq!(with_exemplar.len(), 1);
        assert!(
            with_exemplar[0]
                .labels
                .iter()
                .any(|l| l.name == "le" && l.value == "0.005")
        );
        assert_eq!(
            with_exemplar[0].exemplars[0].labels[0].value,
            "ab".repeat(16)
        );
        let names: Vec<&str> = req.timeseries[0]
            .labels
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(names, ["__name__", "name", "scenario"]);
    }
}
