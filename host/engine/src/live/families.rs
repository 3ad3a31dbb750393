//! What the live outputs show, decided once: the metric families and their points,
//! built from the board. Each output only encodes them (OpenMetrics text, remote
//! write, OTLP).
//!
//! Every point carries `scenario` and the run's tags; request points carry `name`,
//! and `status` (and `error` when no response came, with `status="0"` as k6 has it).

use super::board::Entry;
use crate::metrics::snapshot::{Buckets, LATENCY_BOUNDS_US};

/// Labels this output sets itself; a run tag of the same name is renamed `tag_NAME`.
const OWN_LABELS: [&str; 7] = [
    "scenario", "name", "status", "error", "check", "result", "le",
];

pub type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Only ever grows during a run.
    Counter,
    Gauge,
    /// Latencies in seconds, in [`bounds_seconds`] buckets.
    Histogram,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(u64),
    /// `buckets[i]` counts the values in bucket `i` alone (not cumulated).
    Histogram {
        count: u64,
        sum: f64,
        buckets: Vec<u64>,
        exemplars: Vec<Exemplar>,
    },
}

/// A traced request among a histogram's values (`--trace-context`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub trace_id: String,
    pub span_id: String,
    /// Its duration in seconds.
    pub value: f64,
    /// When it began, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

impl Exemplar {
    /// The index of the bucket (of [`bounds_seconds`]) its value falls in.
    pub fn bucket(&self, bounds: &[f64]) -> usize {
        bounds
            .iter()
            .position(|b| self.value <= *b)
            .unwrap_or(bounds.len().saturating_sub(1))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub labels: Labels,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Without the `stampede_` prefix, the unit or `_total`.
    pub name: &'static str,
    pub help: &'static str,
    /// `seconds` or `bytes`.
    pub unit: Option<&'static str>,
    pub kind: Kind,
    pub points: Vec<Point>,
}

/// The upper bounds of the histogram buckets in seconds, `+Inf` last.
pub fn bounds_seconds() -> Vec<f64> {
    LATENCY_BOUNDS_US
        .iter()
        .map(|b| *b as f64 / 1e6)
        .chain([f64::INFINITY])
        .collect()
}

/// Every family, for the scenarios on the board.
pub fn families(entries: &[Entry]) -> Vec<Family> {
    let runs: Vec<(Labels, &Entry)> = entries.iter().map(|e| (base_labels(e), e)).collect();
    let with = |base: &Labels, more: &[(&str, &str)]| -> Labels {
        let mut l = base.clone();
        l.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        l
    };
    let number = |labels: Labels, n: u64| Point {
        labels,
        value: Value::Number(n),
    };
    let mut out = Vec::new();
    let mut family = |name, help, unit, kind, points| {
        out.push(Family {
            name,
            help,
            unit,
            kind,
            points,
        })
    };

    let mut reqs = Vec::new();
    let mut failed = Vec::new();
    let mut durations = Vec::new();
    for (base, e) in &runs {
        for ep in &e.snapshot.endpoints {
            for (status, n) in &ep.status {
                let s = status.to_string();
                reqs.push(number(
                    with(base, &[("name", &ep.name), ("status", &s)]),
                    *n,
                ));
            }
            for (kind, n) in &ep.errors {
                let l = with(
                    base,
                    &[("name", &ep.name), ("status", "0"), ("error", kind)],
                );
                reqs.push(number(l, *n));
            }
            failed.push(number(with(base, &[("name", &ep.name)]), ep.failed));
            durations.push(Point {
                labels: with(base, &[("name", &ep.name)]),
                value: histogram(&ep.duration, &ep.exemplars, e.started_at_ms),
            });
        }
    }
    family(
        "http_reqs",
        "HTTP requests sent, by name and status (status 0: no response, see error)",
        None,
        Kind::Counter,
        reqs,
    );
    family(
        "http_req_failed",
        "HTTP requests that failed (an error or a failing status)",
        None,
        Kind::Counter,
        failed,
    );
    family(
        "http_req_duration",
        "HTTP request duration, from the first byte sent to the last received",
        Some("seconds"),
        Kind::Histogram,
        durations,
    );

    let per_run = |pick: &dyn Fn(&Entry) -> u64| -> Vec<Point> {
        runs.iter()
            .map(|(base, e)| number(base.clone(), pick(e)))
            .collect()
    };
    family(
        "data_sent",
        "Bytes sent in requests",
        Some("bytes"),
        Kind::Counter,
        per_run(&|e| e.snapshot.endpoints.iter().map(|x| x.data_sent).sum()),
    );
    family(
        "data_received",
        "Bytes received in responses",
        Some("bytes"),
        Kind::Counter,
        per_run(&|e| e.snapshot.endpoints.iter().map(|x| x.data_received).sum()),
    );
    family(
        "iterations",
        "Iterations that ended",
        None,
        Kind::Counter,
        per_run(&|e| e.snapshot.iterations),
    );
    family(
        "iterations_failed",
        "Iterations that ended in an error",
        None,
        Kind::Counter,
        per_run(&|e| e.snapshot.iterations_failed),
    );
    family(
        "dropped_iterations",
        "Iterations an open model could not start (no VU free)",
        None,
        Kind::Counter,
        per_run(&|e| e.snapshot.dropped_iterations),
    );
    let mut checks = Vec::new();
    for (base, e) in &runs {
        for (name, pass, fail) in &e.snapshot.checks {
            checks.push(number(
                with(base, &[("check", name), ("result", "pass")]),
                *pass,
            ));
            checks.push(number(
                with(base, &[("check", name), ("result", "fail")]),
                *fail,
            ));
        }
    }
    family(
        "checks",
        "Checks, by name and result (pass or fail)",
        None,
        Kind::Counter,
        checks,
    );
    family(
        "vus",
        "VUs running",
        None,
        Kind::Gauge,
        per_run(&|e| e.snapshot.vus as u64),
    );
    family(
        "scenario_finished",
        "1 once the scenario's figures are final",
        None,
        Kind::Gauge,
        per_run(&|e| e.snapshot.finished as u64),
    );
    out
}

fn histogram(b: &Buckets, slowest: &[crate::metrics::exemplars::Exemplar], start_ms: u64) -> Value {
    Value::Histogram {
        count: b.count,
        sum: b.sum_us as f64 / 1e6,
        buckets: b.buckets.clone(),
        exemplars: slowest
            .iter()
            .map(|x| Exemplar {
                trace_id: x.trace_id.clone(),
                span_id: x.span_id.clone(),
                value: x.duration_ms / 1e3,
                at_unix_ms: start_ms + x.at_ms as u64,
            })
            .collect(),
    }
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

    #[test]
    fn tag_names_become_valid_label_names() {
        assert_eq!(label_name("team-a.b"), "team_a_b");
        assert_eq!(label_name("9x"), "tag_9x");
        assert_eq!(label_name("__meta"), "tag___meta");
        assert_eq!(label_name("status"), "tag_status");
    }
}
