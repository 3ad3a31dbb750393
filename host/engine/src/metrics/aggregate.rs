//! The one place histograms live during a run: batches from all VUs are folded in here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::event::{CustomValue, ErrorKind, Event, RequestSample};
use super::exemplars::Slowest;
use super::names::{NameId, Names};
use super::series::Series;
use super::snapshot::Snapshot;
use super::summary::*;
use super::tags::Tagged;
use super::trend::Trend;

/// Distinct error messages kept; more are folded into one line.
const MAX_ERROR_MESSAGES: usize = 100;
const OTHER_ERRORS: &str = "(other error messages)";

#[derive(Debug, Default, Clone)]
struct Endpoint {
    requests: u64,
    failed: u64,
    status: BTreeMap<u16, u64>,
    errors: BTreeMap<ErrorKind, u64>,
    data_sent: u64,
    data_received: u64,
    duration: Trend,
    /// Exact, for live outputs' histogram sums (the trend's mean is to 0.1%).
    duration_sum_us: u64,
    waiting: Trend,
    slowest: Slowest,
}

impl Endpoint {
    fn add(&mut self, s: &RequestSample) {
        self.requests += 1;
        self.failed += s.failed() as u64;
        match s.error {
            Some(kind) => *self.errors.entry(kind).or_default() += 1,
            None => *self.status.entry(s.status).or_default() += 1,
        }
        self.data_sent += s.bytes_sent;
        self.data_received += s.bytes_received;
        self.duration.record(s.duration_us);
        self.duration_sum_us = self.duration_sum_us.saturating_add(s.duration_us);
        self.waiting.record(s.waiting_us);
        if let Some(t) = s.trace {
            self.slowest.offer(s.duration_us, s.at_ms, t);
        }
    }
}

#[derive(Debug, Default)]
struct Task {
    runs: u64,
    failures: u64,
    duration: Trend,
}

#[derive(Debug)]
struct Custom {
    value: CustomValue,
    count: u64,
    sum: f64,
    trues: u64,
    trend: Option<Trend>,
}

/// Figures so far, for live progress and early aborts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub requests: u64,
    pub failed: u64,
    pub iterations: u64,
    /// Requests in the last whole second.
    pub last_second_requests: u64,
    /// p(95) of every request so far, in milliseconds.
    pub p95_ms: f64,
}

/// What the aggregator needs to know about the run to write its summary.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub scenario: ScenarioInfo,
    pub target: Option<String>,
    pub started_at_ms: u64,
    pub duration_s: f64,
    pub model: String,
    pub vus_max: u32,
    pub interrupted: Option<String>,
    pub aborted: Option<String>,
    pub warnings: Vec<String>,
    pub run_errors: Vec<String>,
    pub dropped_iterations: u64,
    pub segment: Option<SegmentInfo>,
    pub fingerprint: String,
    pub peak_rss_kib: u64,
}

#[cfg(test)]
impl RunMeta {
    /// A closed-model run of `duration_s` seconds, for unit tests of what reads summaries.
    pub fn for_tests(duration_s: f64) -> Self {
        RunMeta {
            scenario: ScenarioInfo {
                name: "t".into(),
                file: "t.wasm".into(),
                sha256: "00".into(),
                tags: Default::default(),
            },
            target: None,
            started_at_ms: 0,
            duration_s,
            model: "closed".into(),
            vus_max: 1,
            interrupted: None,
            aborted: None,
            warnings: vec![],
            run_errors: vec![],
            dropped_iterations: 0,
            segment: None,
            fingerprint: String::new(),
            peak_rss_kib: 0,
        }
    }
}

#[derive(Debug)]
pub struct Aggregator {
    names: Arc<Names>,
    endpoints: BTreeMap<NameId, Endpoint>,
    connecting: Trend,
    tls: Trend,
    checks: BTreeMap<NameId, (u64, u64)>,
    tasks: BTreeMap<NameId, Task>,
    iteration_duration: Trend,
    iterations_failed: u64,
    errors: HashMap<Box<str>, u64>,
    custom: BTreeMap<NameId, Custom>,
    series: Series,
    tagged: Tagged,
}

impl Aggregator {
    pub fn new(names: Arc<Names>) -> Self {
        Aggregator {
            names,
            endpoints: BTreeMap::new(),
            connecting: Trend::new(),
            tls: Trend::new(),
            checks: BTreeMap::new(),
            tasks: BTreeMap::new(),
            iteration_duration: Trend::new(),
            iterations_failed: 0,
            errors: HashMap::new(),
            custom: BTreeMap::new(),
            series: Series::default(),
            tagged: Tagged::default(),
        }
    }

    /// Also keeps the requests matching each `(key, value)` of `filters` (the tags the
    /// run's thresholds filter by); `scenario_tags` are every request's; the VUs' tag
    /// sets are interned in `tag_sets`.
    pub fn with_tag_filters(
        mut self,
        filters: &[super::tags::TagFilter],
        scenario_tags: BTreeMap<String, String>,
        tag_sets: Arc<Names>,
    ) -> Self {
        self.tagged = Tagged::new(filters, scenario_tags, tag_sets);
        self
    }

    /// Also keeps the checks matching each `(key, value)` of `filters` (k6's
    /// `checks{myTag:x}`, tags given to `check`).
    pub fn with_check_tag_filters(mut self, filters: &[super::tags::TagFilter]) -> Self {
        self.tagged.keep_checks(filters);
        self
    }

    fn count_error(&mut self, message: &str) {
        if let Some(n) = self.errors.get_mut(message) {
            *n += 1;
        } else if self.errors.len() < MAX_ERROR_MESSAGES {
            self.errors.insert(message.into(), 1);
        } else {
            *self.errors.entry(OTHER_ERRORS.into()).or_default() += 1;
        }
    }

    /// Records the VU gauge `at_ms` into the run.
    pub fn sample_vus(&mut self, at_ms: u32, vus: u32) {
        self.series.sample_vus(at_ms, vus);
    }

    /// The figures so far; `now_ms` is the time since the run started.
    pub fn live(&self, now_ms: u32) -> Live {
        let mut all = Trend::new();
        let (mut requests, mut failed) = (0, 0);
        for e in self.endpoints.values() {
            all.merge(&e.duration);
            requests += e.requests;
            failed += e.failed;
        }
        Live {
            requests,
            failed,
            iterations: self.iteration_duration.count(),
            last_second_requests: self.series.last_second_requests(now_ms),
            p95_ms: all.percentile(95.0) as f64 / 1000.0,
        }
    }

    /// The figures so far for live outputs; `vus` and `dropped_iterations` are the
    /// executor's, which the aggregator does not see.
    pub fn snapshot(&self, vus: u32, dropped_iterations: u64, finished: bool) -> Snapshot {
        use super::snapshot::{Buckets, EndpointSnapshot, LATENCY_BOUNDS_US};
        let endpoints = self
            .endpoints
            .iter()
            .map(|(id, e)| EndpointSnapshot {
                name: self.names.get(*id).to_string(),
                status: e.status.iter().map(|(k, v)| (*k, *v)).collect(),
                errors: e.errors.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
                failed: e.failed,
                data_sent: e.data_sent,
                data_received: e.data_received,
                duration: Buckets {
                    count: e.duration.count(),
                    sum_us: e.duration_sum_us,
                    buckets: e.duration.bucket_counts(&LATENCY_BOUNDS_US),
                },
                exemplars: e.slowest.exemplars(),
            })
            .collect();
        Snapshot {
            endpoints,
            checks: self
                .checks
                .iter()
                .map(|(id, (p, f))| (self.names.get(*id).to_string(), *p, *f))
                .collect(),
            iterations: self.iteration_duration.count(),
            iterations_failed: self.iterations_failed,
            dropped_iterations,
            vus,
            finished,
        }
    }

    pub fn add_batch(&mut self, batch: &[Event]) {
        for ev in batch {
            self.add(ev);
        }
    }

    pub fn add(&mut self, ev: &Event) {
        match ev {
            Event::Request(s) => {
                self.endpoints.entry(s.name).or_default().add(s);
                self.connecting.record(s.connecting_us);
                self.tls.record(s.tls_us);
                self.series.request(s.at_ms, s.duration_us, s.failed());
                self.tagged.add(s, &self.names);
            }
            Event::Check { name, ok, tags } => {
                let c = self.checks.entry(*name).or_default();
                if *ok {
                    c.0 += 1
                } else {
                    c.1 += 1
                }
                self.tagged.add_check(*tags, *ok);
            }
            Event::Iteration {
                task,
                at_ms,
                duration_us,
                error,
            } => {
                let t = self.tasks.entry(*task).or_default();
                t.runs += 1;
                t.duration.record(*duration_us);
                self.iteration_duration.record(*duration_us);
                if let Some(msg) = error {
                    t.failures += 1;
                    self.iterations_failed += 1;
                    let msg = format!("{}: {msg}", self.names.get(*task));
                    self.count_error(&msg);
                }
                self.series.iteration(*at_ms);
            }
            Event::LifecycleError { message } => self.count_error(message),
            Event::RequestFailure { name, message } => {
                let msg = format!("{}: {message}", self.names.get(*name));
                self.count_error(&msg);
            }
            Event::Custom { name, value } => {
                let c = self.custom.entry(*name).or_insert_with(|| Custom {
                    value: *value,
                    count: 0,
                    sum: 0.0,
                    trues: 0,
                    trend: matches!(value, CustomValue::Trend(_)).then(Trend::new),
                });
                c.count += 1;
                match (value, &mut c.trend) {
                    (CustomValue::Counter(v), _) => c.sum += v,
                    (CustomValue::Gauge(v), _) => c.sum = *v,
                    (CustomValue::Rate(ok), _) => c.trues += *ok as u64,
                    (CustomValue::Trend(v), Some(t)) => {
                        c.sum += v;
                        t.record((v.max(0.0) * 1000.0).round() as u64);
                    }
                    // The first sample fixed the metric's kind; a sample of another
                    // kind under the same name is ignored rather than mixed in.
                    (CustomValue::Trend(_), None) => c.count -= 1,
                }
            }
        }
    }

    pub fn summary(&self, meta: RunMeta) -> Summary {
        self.build(meta, true)
    }

    /// The summary without its time series: what thresholds read, cheap enough to
    /// build once a second during a run.
    pub fn summary_without_series(&self, meta: RunMeta) -> Summary {
        self.build(meta, false)
    }

    fn build(&self, meta: RunMeta, with_series: bool) -> Summary {
        let ms = |t: &Trend| TrendSummary::from_trend(t, 1e-3, "us");
        let secs = meta.duration_s.max(1e-9);
        let mut all = Endpoint::default();
        let mut endpoints = Vec::new();
        for (id, e) in &self.endpoints {
            all.requests += e.requests;
            all.failed += e.failed;
            all.data_sent += e.data_sent;
            all.data_received += e.data_received;
            all.duration.merge(&e.duration);
            all.waiting.merge(&e.waiting);
            endpoints.push(EndpointSummary {
                scenario: None,
                name: self.names.get(*id).to_string(),
                requests: e.requests,
                failed: e.failed,
                rps: e.requests as f64 / secs,
                status: e.status.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                errors: e
                    .errors
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), *v))
                    .collect(),
                data_sent: e.data_sent,
                data_received: e.data_received,
                duration: ms(&e.duration),
                waiting: ms(&e.waiting),
                exemplars: e.slowest.exemplars(),
            });
        }
        let checks: Vec<CheckSummary> = self
            .checks
            .iter()
            .map(|(id, (p, f))| CheckSummary {
                scenario: None,
                name: self.names.get(*id).to_string(),
                passes: *p,
                fails: *f,
            })
            .collect();
        let tasks = self
            .tasks
            .iter()
            .map(|(id, t)| TaskSummary {
                scenario: None,
                name: self.names.get(*id).to_string(),
                runs: t.runs,
                failures: t.failures,
                duration: ms(&t.duration),
            })
            .collect();
        let mut errors: Vec<ErrorCount> = self
            .errors
            .iter()
            .map(|(m, c)| ErrorCount {
                message: m.to_string(),
                count: *c,
            })
            .collect();
        errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.message.cmp(&b.message)));
        let custom = self
            .custom
            .iter()
            .map(|(id, c)| {
                let (kind, value) = match c.value {
                    CustomValue::Counter(_) => ("counter", c.sum),
                    CustomValue::Gauge(_) => ("gauge", c.sum),
                    CustomValue::Rate(_) => ("rate", c.trues as f64 / c.count.max(1) as f64),
                    CustomValue::Trend(_) => ("trend", c.sum / c.count.max(1) as f64),
                };
                CustomSummary {
                    name: self.names.get(*id).to_string(),
                    kind: kind.into(),
                    value,
                    count: c.count,
                    trend: c
                        .trend
                        .as_ref()
                        .map(|t| TrendSummary::from_trend(t, 1e-3, "milli")),
                }
            })
            .collect();
        let mut warnings = meta.warnings.clone();
        if self.tagged.overflowed() {
            warnings.push(format!(
                "more than {} distinct sets of tags: requests and checks past them carry none of their own (thresholds on tags miss them); tag with a few values, not ids",
                super::tags::MAX_TAG_SETS
            ));
        }
        if self.names.overflowed() {
            warnings.push(format!(
                "more than {} distinct metric names: the rest were counted under \"{}\"; name requests with a pattern (e.g. .name(\"GET /products/:id\"))",
                self.names.cap(),
                super::names::OVERFLOW_NAME
            ));
        }
        let (checks_passed, checks_failed) = checks
            .iter()
            .fold((0, 0), |(p, f), c| (p + c.passes, f + c.fails));
        Summary {
            schema: SCHEMA.into(),
            stampede_version: env!("CARGO_PKG_VERSION").into(),
            scenario: meta.scenario,
            target: meta.target,
            started_at_ms: meta.started_at_ms,
            duration_s: meta.duration_s,
            model: meta.model,
            vus_max: meta.vus_max,
            interrupted: meta.interrupted,
            aborted: meta.aborted,
            totals: Totals {
                http_reqs: all.requests,
                http_req_failed: all.failed,
                http_reqs_rate: all.requests as f64 / secs,
                http_req_failed_rate: if all.requests == 0 {
                    0.0
                } else {
                    all.failed as f64 / all.requests as f64
                },
                data_sent: all.data_sent,
                data_received: all.data_received,
                iterations: self.iteration_duration.count(),
                iterations_failed: self.iterations_failed,
                dropped_iterations: meta.dropped_iterations,
                checks_passed,
                checks_failed,
            },
            http_req_duration: ms(&all.duration),
            http_req_waiting: ms(&all.waiting),
            http_req_connecting: ms(&self.connecting),
            http_req_tls_handshaking: ms(&self.tls),
            iteration_duration: ms(&self.iteration_duration),
            endpoints,
            tagged: self.tagged.summaries(),
            tagged_checks: self.tagged.check_summaries(),
            checks,
            tasks,
            errors,
            custom,
            series: if with_series {
                self.series.points(ms)
            } else {
                Vec::new()
            },
            warnings,
            run_errors: meta.run_errors,
            segment: meta.segment,
            peak_rss_kib: meta.peak_rss_kib,
            fingerprint: meta.fingerprint,
            scenarios: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: NameId, status: u16, error: Option<ErrorKind>, us: u64, at_ms: u32) -> Event {
        Event::Request(RequestSample {
            verdict: Default::default(),
            method: Default::default(),
            tags: None,
            trace: None,
            name,
            status,
            error,
            at_ms,
            duration_us: us,
            waiting_us: us / 2,
            connecting_us: 0,
            tls_us: 0,
            bytes_sent: 10,
            bytes_received: 100,
        })
    }

    fn meta() -> RunMeta {
        RunMeta::for_tests(2.0)
    }

    #[test]
    fn groups_requests_by_name_and_counts_failures() {
        let names = Arc::new(Names::new(100));
        let a = names.intern("GET /a");
        let b = names.intern("GET /b");
        let chk = names.intern("is 200");
        let mut agg = Aggregator::new(names.clone());
        agg.add_batch(&[
            req(a, 200, None, 1000, 10),
            req(a, 500, None, 3000, 20),
            req(b, 0, Some(ErrorKind::Connect), 50, 1500),
            Event::Check {
                name: chk,
                ok: true,
                tags: None,
            },
            Event::Check {
                name: chk,
                ok: false,
                tags: None,
            },
        ]);
        let s = agg.summary(meta());
        assert_eq!(s.totals.http_reqs, 3);
        assert_eq!(s.totals.http_req_failed, 2);
        assert!((s.totals.http_reqs_rate - 1.5).abs() < 1e-9);
        assert_eq!(s.endpoints.len(), 2);
        let ea = &s.endpoints[0];
        assert_eq!((ea.name.as_str(), ea.requests, ea.failed), ("GET /a", 2, 1));
        assert_eq!(ea.status.get("500"), Some(&1));
        assert_eq!(s.endpoints[1].errors.get("connect"), Some(&1));
        assert_eq!((s.checks[0].passes, s.checks[0].fails), (1, 1));
        assert_eq!(s.series.len(), 2);
        assert_eq!(s.series[0].requests, 2);
        assert_eq!(s.series[1].failed, 1);
        let second0 = s.series[0].duration.as_ref().unwrap();
        assert_eq!(second0.count, 2);
        assert!((second0.max - 3.0).abs() < 0.01);
        assert_eq!(s.http_req_duration.count, 3);
        assert!((s.http_req_duration.max - 3.0).abs() < 0.01);
    }

    #[test]
    fn iteration_errors_are_counted_by_message() {
        let names = Arc::new(Names::new(100));
        let t = names.intern("browse");
        let mut agg = Aggregator::new(names);
        for i in 0..3 {
            agg.add(&Event::Iteration {
                task: t,
                at_ms: 0,
                duration_us: 10,
                error: (i > 0).then(|| "boom".into()),
            });
        }
        let s = agg.summary(meta());
        assert_eq!((s.totals.iterations, s.totals.iterations_failed), (3, 2));
        assert_eq!(s.errors[0].message, "browse: boom");
        assert_eq!(s.errors[0].count, 2);
        assert_eq!(s.tasks[0].failures, 2);
    }
}
