//! The result of a run as data: what the console prints, what `--summary-json` writes,
//! and what later runs are compared or merged with. Histograms travel losslessly.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::trend::Trend;

/// Identifies the format; bumped on incompatible changes.
pub const SCHEMA: &str = "stampede-summary/1";

/// What a run measured. Its judgement is apart ([`crate::gate::Judged`]), and so is
/// its wire form (the judged document, whose fields say what each of these means).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub schema: String,
    pub stampede_version: String,
    pub scenario: ScenarioInfo,
    pub target: Option<String>,
    pub started_at_ms: u64,
    pub duration_s: f64,
    pub model: String,
    pub vus_max: u32,
    pub interrupted: Option<String>,
    pub aborted: Option<String>,
    pub totals: Totals,
    pub http_req_duration: TrendSummary,
    pub http_req_waiting: TrendSummary,
    pub http_req_connecting: TrendSummary,
    pub http_req_tls_handshaking: TrendSummary,
    pub iteration_duration: TrendSummary,
    pub endpoints: Vec<EndpointSummary>,
    /// Requests by the tags thresholds filter them by.
    pub tagged: Vec<TaggedSummary>,
    pub checks: Vec<CheckSummary>,
    /// Checks by the tags thresholds filter them by.
    pub tagged_checks: Vec<TaggedChecks>,
    pub tasks: Vec<TaskSummary>,
    pub errors: Vec<ErrorCount>,
    pub custom: Vec<CustomSummary>,
    pub series: Vec<SeriesPoint>,
    pub warnings: Vec<String>,
    /// What the run could not do as asked; any of these fails the verdict.
    pub run_errors: Vec<String>,
    pub segment: Option<SegmentInfo>,
    pub peak_rss_kib: u64,
    pub fingerprint: String,
    /// In a run of several scenarios, each one's own summary.
    pub scenarios: Vec<Summary>,
}

/// Segment `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInfo {
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    /// SHA-256 of the component file, hex.
    pub sha256: String,
    /// Free-form tags from the config's scenario, e.g. `team = "payments"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub http_reqs: u64,
    pub http_req_failed: u64,
    /// Requests per second over the run's duration.
    pub http_reqs_rate: f64,
    /// Fraction of requests that failed, 0..1.
    pub http_req_failed_rate: f64,
    pub data_sent: u64,
    pub data_received: u64,
    pub iterations: u64,
    pub iterations_failed: u64,
    /// Open model: iterations due when no VU was free, so never started.
    #[serde(default)]
    pub dropped_iterations: u64,
    pub checks_passed: u64,
    pub checks_failed: u64,
}

/// Statistics of a trend in milliseconds, plus the lossless histogram (microseconds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrendSummary {
    pub count: u64,
    pub min: f64,
    pub avg: f64,
    pub med: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
    /// HdrHistogram V2 (deflate) encoding, base64. Values in `hdr_unit`s.
    pub hdr: String,
    pub hdr_unit: String,
}

impl TrendSummary {
    /// `scale` converts the recorded unit to the reported one (microseconds → ms: 1e-3).
    pub fn from_trend(t: &Trend, scale: f64, unit: &str) -> Self {
        let s = |v: u64| v as f64 * scale;
        TrendSummary {
            count: t.count(),
            min: s(t.min()),
            avg: t.mean() * scale,
            med: s(t.percentile(50.0)),
            p90: s(t.percentile(90.0)),
            p95: s(t.percentile(95.0)),
            p99: s(t.percentile(99.0)),
            p99_9: s(t.percentile(99.9)),
            max: s(t.max()),
            hdr: t.encode(),
            hdr_unit: unit.to_string(),
        }
    }

    pub fn trend(&self) -> Result<Trend, String> {
        Trend::decode(&self.hdr)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointSummary {
    /// The scenario this belongs to, in a run of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    pub name: String,
    pub requests: u64,
    pub failed: u64,
    pub rps: f64,
    /// Count per HTTP status ("200", "404", ...).
    pub status: BTreeMap<String, u64>,
    /// Count per transport error kind ("connect", "timeout", ...).
    pub errors: BTreeMap<String, u64>,
    pub data_sent: u64,
    pub data_received: u64,
    pub duration: TrendSummary,
    pub waiting: TrendSummary,
    /// The slowest traced requests (`--trace-context`), slowest first; absent when no
    /// request carried a trace context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemplars: Vec<super::exemplars::Exemplar>,
}

/// The requests carrying one tag (k6's sub-metric: `http_req_duration{type:API}`), kept
/// for each tag the run's thresholds filter by.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaggedSummary {
    /// `key:value`, as the threshold names it.
    pub tag: String,
    pub requests: u64,
    pub failed: u64,
    pub duration: TrendSummary,
    pub waiting: TrendSummary,
}

/// The checks carrying one tag (k6's `checks{myTag:x}`: tags given to `check`), kept for
/// each tag the run's thresholds filter checks by.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaggedChecks {
    /// `key:value`, as the threshold names it.
    pub tag: String,
    pub passes: u64,
    pub fails: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSummary {
    /// The scenario this belongs to, in a run of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    pub name: String,
    pub passes: u64,
    pub fails: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSummary {
    /// The scenario this belongs to, in a run of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    pub name: String,
    pub runs: u64,
    pub failures: u64,
    pub duration: TrendSummary,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorCount {
    pub message: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomSummary {
    pub name: String,
    /// counter, trend, rate or gauge.
    pub kind: String,
    /// Counter: sum; gauge: last value; rate: fraction true; trend: mean.
    pub value: f64,
    pub count: u64,
    /// Trends only (values recorded with three decimals, unit `milli`).
    pub trend: Option<TrendSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesPoint {
    /// Second since the run started at which this point begins.
    pub t: u32,
    /// Seconds this point covers: 1, or a power of two once a long run has had its
    /// buckets merged to keep the series bounded (rates are per `dt`, not per second).
    #[serde(default = "one_second")]
    pub dt: u32,
    pub requests: u64,
    pub failed: u64,
    pub iterations: u64,
    /// VUs active (looping, or running an iteration in the open model) at the end of
    /// this second.
    #[serde(default)]
    pub vus: u32,
    /// Durations of the requests that started in this second, histogram included.
    #[serde(default)]
    pub duration: Option<TrendSummary>,
}

fn one_second() -> u32 {
    1
}

/// `[scenario] name` in a run of several scenarios, else the name.
fn label(scenario: &Option<String>, name: &str) -> String {
    match scenario {
        Some(s) => format!("[{s}] {name}"),
        None => name.to_string(),
    }
}

impl EndpointSummary {
    pub fn label(&self) -> String {
        label(&self.scenario, &self.name)
    }
}

impl CheckSummary {
    pub fn label(&self) -> String {
        label(&self.scenario, &self.name)
    }
}
