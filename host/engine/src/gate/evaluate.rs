//! Judging a finished run's summary against thresholds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::threshold::{Agg, Kind, Threshold, fmt_num};
use crate::metrics::Summary;
use crate::metrics::summary::TrendSummary;
use crate::metrics::tags::label as tag_label;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdResult {
    /// Canonical form, e.g. `http_req_duration{name:GET /a}: p(95)<500ms`.
    pub expression: String,
    /// The value observed, in the threshold's unit; absent when nothing was measured.
    pub observed: Option<f64>,
    pub passed: bool,
    /// Why there is no observation (a threshold on zero samples fails).
    pub detail: Option<String>,
    /// The observed value's unit: `ms`, `/s`, or none (a fraction or a count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Part of the default gate (no threshold was set).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default_gate: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub thresholds: Vec<ThresholdResult>,
}

impl Evaluation {
    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }
}

/// A trend's statistic in its reporting unit (ms), from the lossless histogram when a
/// percentile other than the precomputed ones is asked for.
fn trend_stat(t: &TrendSummary, agg: Agg, hdr_scale: f64) -> Option<f64> {
    if t.count == 0 {
        return None;
    }
    Some(match agg {
        Agg::Avg => t.avg,
        Agg::Min => t.min,
        Agg::Max => t.max,
        Agg::Med => t.med,
        Agg::Count => t.count as f64,
        Agg::P(p) => {
            let trend = t.trend().ok()?;
            trend.percentile(p) as f64 * hdr_scale
        }
        Agg::Rate | Agg::Value => return None,
    })
}

fn observe(th: &Threshold, s: &Summary) -> Result<f64, String> {
    let secs = s.duration_s.max(1e-9);
    let none = |what: String| Err(format!("no samples: {what}"));
    if let Some(("scenario", name)) = th.tag.as_ref().map(|(k, v)| (k.as_str(), v.as_str()))
        && th.more_tags.is_empty()
    {
        // The scenario's own summary, judged by the threshold without its tag.
        let part = if s.scenarios.is_empty() && s.scenario.name == name {
            Some(s)
        } else {
            s.scenarios.iter().find(|p| p.scenario.name == name)
        };
        let Some(part) = part else {
            return none(format!("no scenario named {name:?}"));
        };
        let untagged = Threshold {
            tag: None,
            ..th.clone()
        };
        return observe(&untagged, part);
    }
    if let Some(pairs) = th.request_tags() {
        return observe_tagged(th, s, &tag_label(&pairs));
    }
    if let Some(pairs) = th.check_tags() {
        let tag = tag_label(&pairs);
        return match s.tagged_checks.iter().find(|t| t.tag == tag) {
            Some(t) if t.passes + t.fails > 0 => Ok(t.passes as f64 / (t.passes + t.fails) as f64),
            _ => Err(format!("no samples: no check tagged {tag}")),
        };
    }
    let tag_val = th.tag.as_ref().map(|(_, v)| v.as_str());
    let tag_key = th.tag.as_ref().map(|(k, _)| k.as_str());
    // Requests of that name in every scenario, as one.
    let merged: Option<crate::metrics::summary::EndpointSummary> = match (tag_key, tag_val) {
        (Some("name"), Some(n)) => {
            let es: Vec<_> = s.endpoints.iter().filter(|e| e.name == n).collect();
            (!es.is_empty()).then(|| crate::metrics::merge::merge_endpoints(&es, secs))
        }
        _ => None,
    };
    let endpoint = |_: &str| merged.as_ref();
    let trend = |t: Option<&TrendSummary>, what: String| match t
        .and_then(|t| trend_stat(t, th.agg, 1e-3))
    {
        Some(v) => Ok(v),
        None => none(what),
    };
    match (th.metric.as_str(), tag_key) {
        ("http_req_duration" | "http_req_waiting", None | Some("name")) => {
            let waiting = th.metric == "http_req_waiting";
            match tag_val {
                Some(n) => trend(
                    endpoint(n).map(|e| if waiting { &e.waiting } else { &e.duration }),
                    format!("no request named {n:?}"),
                ),
                None => trend(
                    Some(if waiting {
                        &s.http_req_waiting
                    } else {
                        &s.http_req_duration
                    }),
                    "no requests".into(),
                ),
            }
        }
        ("http_req_connecting", None) => trend(Some(&s.http_req_connecting), "no requests".into()),
        ("http_req_tls_handshaking", None) => {
            trend(Some(&s.http_req_tls_handshaking), "no requests".into())
        }
        ("iteration_duration", None) => trend(Some(&s.iteration_duration), "no iterations".into()),
        ("iteration_duration", Some("task")) => {
            // The task of that name in every scenario, as one.
            let n = tag_val.unwrap_or_default();
            let durations: Vec<&TrendSummary> = s
                .tasks
                .iter()
                .filter(|t| t.name == n)
                .map(|t| &t.duration)
                .collect();
            let merged =
                (!durations.is_empty()).then(|| crate::metrics::merge::merge_trends(durations));
            trend(merged.as_ref(), format!("no task named {n:?}"))
        }
        ("http_req_failed", None | Some("name")) => {
            let (reqs, failed) = match tag_val {
                Some(n) => endpoint(n)
                    .map(|e| (e.requests, e.failed))
                    .unwrap_or((0, 0)),
                None => (s.totals.http_reqs, s.totals.http_req_failed),
            };
            if reqs == 0 {
                return none(match tag_val {
                    Some(n) => format!("no request named {n:?}"),
                    None => "no requests".into(),
                });
            }
            Ok(failed as f64 / reqs as f64)
        }
        ("iterations_failed", None | Some("task")) => {
            let (runs, failed) = match tag_val {
                Some(n) => s
                    .tasks
                    .iter()
                    .filter(|t| t.name == n)
                    .fold((0, 0), |(r, f), t| (r + t.runs, f + t.failures)),
                None => (s.totals.iterations, s.totals.iterations_failed),
            };
            if runs == 0 {
                return none(match tag_val {
                    Some(n) => format!("no task named {n:?}"),
                    None => "no iterations".into(),
                });
            }
            Ok(failed as f64 / runs as f64)
        }
        ("checks", None | Some("check") | Some("group")) => {
            let (p, f) = match (tag_key, tag_val) {
                (Some(k), Some(n)) => s
                    .checks
                    .iter()
                    .filter(|c| check_tagged(&c.name, k, n))
                    .fold((0, 0), |(p, f), c| (p + c.passes, f + c.fails)),
                _ => (s.totals.checks_passed, s.totals.checks_failed),
            };
            if p + f == 0 {
                return none(match (tag_key, tag_val) {
                    (Some("group"), Some(n)) => format!("no check in the group {n:?}"),
                    (_, Some(n)) => format!("no check named {n:?}"),
                    _ => "no checks".into(),
                });
            }
            Ok(p as f64 / (p + f) as f64)
        }
        ("http_reqs" | "iterations" | "data_sent" | "data_received", _) => {
            let count = match (th.metric.as_str(), tag_key, tag_val) {
                ("http_reqs", Some("name"), Some(n)) => {
                    endpoint(n).map(|e| e.requests).unwrap_or(0)
                }
                ("iterations", Some("task"), Some(n)) => {
                    s.tasks.iter().filter(|t| t.name == n).map(|t| t.runs).sum()
                }
                ("http_reqs", None, _) => s.totals.http_reqs,
                ("iterations", None, _) => s.totals.iterations,
                ("data_sent", None, _) => s.totals.data_sent,
                ("data_received", None, _) => s.totals.data_received,
                _ => {
                    return Err(format!(
                        "{} has no {:?} tag",
                        th.metric,
                        tag_key.unwrap_or("")
                    ));
                }
            };
            // A count threshold is meaningful at zero (count<1); a rate too (rate>100
            // must fail when nothing ran), so both are observed as they are.
            Ok(match th.agg {
                Agg::Rate => count as f64 / secs,
                _ => count as f64,
            })
        }
        (m, Some(k)) if th.kind != Kind::Custom => Err(format!("{m} has no {k:?} tag")),
        (m, _) => {
            // A tagged series is recorded under its tagged name (`m{key:value}`).
            let series = match &th.tag {
                Some((k, v)) => std::borrow::Cow::Owned(format!("{m}{{{k}:{v}}}")),
                None => std::borrow::Cow::Borrowed(m),
            };
            let Some(c) = s.custom.iter().find(|c| c.name == *series) else {
                return none(format!("the scenario recorded no metric named {series:?}"));
            };
            match (c.kind.as_str(), th.agg) {
                ("trend", _) => match c.trend.as_ref().and_then(|t| trend_stat(t, th.agg, 1e-3)) {
                    Some(v) => Ok(v),
                    None => Err(format!(
                        "{m} is a trend: use avg, min, max, med, p(N) or count"
                    )),
                },
                ("counter", Agg::Count | Agg::Value) => Ok(c.value),
                ("counter", Agg::Rate) => Ok(c.value / secs),
                ("rate", Agg::Rate) => Ok(c.value),
                ("gauge", Agg::Value) => Ok(c.value),
                (kind, agg) => Err(format!("{m} is a {kind}: it cannot be judged by {agg}")),
            }
        }
    }
}

/// A request metric filtered by a tag the run kept its requests apart by.
fn observe_tagged(th: &Threshold, s: &Summary, tag: &str) -> Result<f64, String> {
    let none = || Err(format!("no samples: no request tagged {tag}"));
    let Some(t) = s.tagged.iter().find(|t| t.tag == tag) else {
        return none();
    };
    // A count is meaningful at zero (count<1); the others need a request.
    if t.requests == 0 && th.metric != "http_reqs" {
        return none();
    }
    match th.metric.as_str() {
        "http_req_failed" => Ok(t.failed as f64 / t.requests as f64),
        "http_reqs" => Ok(match th.agg {
            Agg::Rate => t.requests as f64 / s.duration_s.max(1e-9),
            _ => t.requests as f64,
        }),
        m => {
            let trend = if m == "http_req_waiting" {
                &t.waiting
            } else {
                &t.duration
            };
            trend_stat(trend, th.agg, 1e-3)
                .ok_or_else(|| format!("no samples: no request tagged {tag}"))
        }
    }
}

/// Whether the check recorded as `name` has the tag `key:value`. A check in a k6
/// group is recorded by its path, `::group::check`: its `check` tag is the last part,
/// its `group` tag the rest, as in k6.
fn check_tagged(name: &str, key: &str, value: &str) -> bool {
    let (group, check) = match name.strip_prefix("::").and(name.rfind("::")) {
        Some(i) => (&name[..i], &name[i + 2..]),
        None => ("", name),
    };
    match key {
        "check" => check == value,
        _ => group == value,
    }
}

pub fn evaluate(thresholds: &[Threshold], s: &Summary) -> Evaluation {
    Evaluation {
        thresholds: thresholds
            .iter()
            .map(|th| match observe(th, s) {
                Ok(v) => ThresholdResult {
                    expression: th.describe(),
                    observed: Some(v),
                    passed: th.op.holds(v, th.value),
                    detail: None,
                    unit: th.unit().map(str::to_string),
                    default_gate: false,
                },
                Err(why) => ThresholdResult {
                    expression: th.describe(),
                    observed: None,
                    passed: false,
                    detail: Some(why),
                    unit: None,
                    default_gate: false,
                },
            })
            .collect(),
    }
}

impl ThresholdResult {
    /// `✓ http_req_duration: p(95)<500ms (observed 123.4ms)`.
    pub fn line(&self) -> String {
        let mark = if self.passed { '✓' } else { '✗' };
        match (self.observed, &self.detail) {
            (Some(v), _) => format!(
                "{mark} {} (observed {}{})",
                self.expression,
                fmt_observed(v),
                self.unit.as_deref().unwrap_or("")
            ),
            (None, Some(d)) => format!("{mark} {} ({d})", self.expression),
            (None, None) => format!("{mark} {}", self.expression),
        }
    }
}

/// Four significant digits at most (`52.42`, `0.1234`, `1235`), so a figure reads at
/// a glance and still shows which side of the limit it is.
pub fn fmt_observed(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return fmt_num(v);
    }
    if v.abs() >= 1000.0 {
        return fmt_num(v.round());
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// k6's `abortOnFail`: the run stops as soon as `threshold` is lost, but not before
/// `delay` into it (the first seconds are noisy).
#[derive(Debug, Clone, PartialEq)]
pub struct AbortRule {
    pub threshold: Threshold,
    pub delay: std::time::Duration,
}

/// The first abort rule already lost `elapsed` into the run, as a reason to print. A
/// threshold with no samples yet is not lost: its metric may simply not have started.
pub fn lost(rules: &[AbortRule], s: &Summary, elapsed: std::time::Duration) -> Option<String> {
    rules
        .iter()
        .filter(|r| elapsed >= r.delay)
        .find_map(|r| match observe(&r.threshold, s) {
            Ok(v) if !r.threshold.op.holds(v, r.threshold.value) => Some(format!(
                "aborted at {}s: threshold {} lost (observed {}; abort_on_fail)",
                elapsed.as_secs(),
                r.threshold.describe(),
                fmt_observed(v)
            )),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::parse;
    use crate::metrics::aggregate::{Aggregator, RunMeta};
    use crate::metrics::event::{CustomValue, Event, RequestSample};
    use crate::metrics::names::Names;
    use std::sync::Arc;

    /// 100 requests to "GET /a" taking 1..=100 ms (one 500), 10 to "GET /b" at 2 s,
    /// checks 9 of 10, a custom counter, over 10 s.
    fn summary() -> Summary {
        let names = Arc::new(Names::new(100));
        let (a, b, c, k) = (
            names.intern("GET /a"),
            names.intern("GET /b"),
            names.intern("ok"),
            names.intern("carts"),
        );
        let mut agg = Aggregator::new(names);
        let req = |name, ms: u64, status| {
            Event::Request(RequestSample {
                verdict: Default::default(),
                method: Default::default(),
                tags: None,
                trace: None,
                name,
                status,
                error: None,
                at_ms: 0,
                duration_us: ms * 1000,
                waiting_us: ms * 500,
                connecting_us: 0,
                tls_us: 0,
                bytes_sent: 1,
                bytes_received: 1,
            })
        };
        for ms in 1..=100 {
            agg.add(&req(a, ms, if ms == 50 { 500 } else { 200 }));
        }
        for _ in 0..10 {
            agg.add(&req(b, 2000, 200));
            agg.add(&Event::Check {
                name: c,
                ok: true,
                tags: None,
            });
            agg.add(&Event::Custom {
                name: k,
                value: CustomValue::Counter(2.0),
            });
        }
        agg.add(&Event::Check {
            name: c,
            ok: false,
            tags: None,
        });
        agg.summary(RunMeta::for_tests(10.0))
    }

    fn judge(expr: &str) -> ThresholdResult {
        evaluate(&parse(expr).unwrap(), &summary())
            .thresholds
            .remove(0)
    }

    #[test]
    fn evaluates_on_known_histograms() {
        let r = judge("http_req_duration{name:GET /a}: p(95)<100");
        assert!(r.passed);
        assert!((r.observed.unwrap() - 95.0).abs() < 0.2, "{r:?}");
        // Any percentile comes from the lossless histogram.
        let r = judge("http_req_duration{name:GET /a}: p(42)<=42.1");
        assert!(r.passed, "{r:?}");
        assert!(
            !judge("http_req_duration: p(95)<500").passed,
            "the 2 s requests are in the overall p95"
        );
        assert!(judge("http_req_duration{name:GET /a}: max<100.2").passed);
        assert!(judge("http_req_waiting{name:GET /a}: avg<26").passed);
        assert!(judge("http_req_failed: rate<0.01").passed);
        let r = judge("http_req_failed: rate<0.005");
        assert!(!r.passed);
        assert!((r.observed.unwrap() - 1.0 / 110.0).abs() < 1e-9);
        assert!(judge("http_req_failed{name:GET /b}: rate==0").passed);
        assert!((judge("checks: rate>0.9").observed.unwrap() - 10.0 / 11.0).abs() < 1e-9);
        assert_eq!(judge("http_reqs: rate>10").observed, Some(11.0));
        assert_eq!(
            judge("http_reqs{name:GET /b}: count==10").observed,
            Some(10.0)
        );
        assert!(judge("carts: count==20").passed);
        assert!(judge("carts: rate>=2").passed);
    }

    #[test]
    fn requests_filtered_by_a_tag_are_judged_from_those_the_run_kept() {
        let names = Arc::new(Names::new(100));
        let filters = [("status", "500"), ("status", "404"), ("group", "::cart")]
            .map(|(k, v)| vec![(k.to_string(), v.to_string())]);
        let sets = Arc::new(Names::new(100));
        let mut agg = Aggregator::new(names.clone()).with_tag_filters(
            &filters,
            Default::default(),
            sets.clone(),
        );
        let cart = crate::metrics::tags::encode(&[("group".into(), "::cart".into())]).unwrap();
        for (status, ms) in [(200, 10), (500, 30), (200, 50)] {
            agg.add(&Event::Request(RequestSample {
                name: names.intern("GET /"),
                method: Default::default(),
                tags: cart.as_deref().map(|c| sets.intern(c)),
                status,
                error: None,
                at_ms: 0,
                duration_us: ms * 1000,
                waiting_us: ms * 500,
                connecting_us: 0,
                tls_us: 0,
                bytes_sent: 0,
                bytes_received: 0,
                verdict: Default::default(),
                trace: None,
            }));
        }
        let s = agg.summary(RunMeta::for_tests(2.0));
        let judge = |e: &str| evaluate(&parse(e).unwrap(), &s).thresholds.remove(0);
        let r = judge("http_req_failed{group:::cart}: rate<0.5");
        assert!(
            (r.observed.unwrap() - 1.0 / 3.0).abs() < 1e-9 && r.passed,
            "{r:?}"
        );
        // Read from the HDR histograms: within their 0.1%.
        let near = |e: &str, v: f64| (judge(e).observed.unwrap() - v).abs() < v * 1e-3;
        assert!(near("http_req_duration{status:500}: max<40", 30.0));
        assert!(near("http_req_waiting{status:500}: max<40", 15.0));
        assert_eq!(judge("http_reqs{group:::cart}: rate>1").observed, Some(1.5));
        // None matched: a count is judged at zero, anything else has no sample.
        let r = judge("http_reqs{status:404}: count<1");
        assert_eq!((r.observed, r.passed), (Some(0.0), true));
        let r = judge("http_req_duration{status:404}: p(95)<1");
        assert_eq!(
            r.detail.as_deref(),
            Some("no samples: no request tagged status:404")
        );
        assert!(!r.passed);
        // A filter the run did not keep (the summary of another run): no sample either.
        assert!(!judge("http_req_duration{type:API}: p(95)<1").passed);
    }

    #[test]
    fn k6_groups_and_tagged_series_are_judged_by_their_tags() {
        let names = Arc::new(Names::new(100));
        let mut agg = Aggregator::new(names.clone());
        let check = |n: &str, ok| Event::Check {
            name: names.intern(n),
            ok,
            tags: None,
        };
        let trend = |n: &str, v| Event::Custom {
            name: names.intern(n),
            value: CustomValue::Trend(v),
        };
        agg.add(&check("status 200", true));
        agg.add(&check("::cart::status 200", false));
        agg.add(&check("::cart::pay::status 200", true));
        agg.add(&trend("group_duration", 10.0));
        agg.add(&trend("group_duration{group:::cart}", 30.0));
        let s = agg.summary(RunMeta::for_tests(1.0));
        let judge = |e: &str| evaluate(&parse(e).unwrap(), &s).thresholds.remove(0);
        // The check tag is the check's own name, in any group; the group tag its path.
        let r = judge("checks{check:status 200}: rate>0");
        assert!((r.observed.unwrap() - 2.0 / 3.0).abs() < 1e-9, "{r:?}");
        assert_eq!(judge("checks{group:::cart}: rate>0").observed, Some(0.0));
        assert_eq!(
            judge("checks{group:::cart::pay}: rate>0").observed,
            Some(1.0)
        );
        assert!(
            judge("checks{group:::none}: rate>0")
                .detail
                .unwrap()
                .contains("no check in the group \"::none\"")
        );
        // A custom metric's tag names its tagged series.
        let r = judge("group_duration{group:::cart}: avg<40");
        assert!((r.observed.unwrap() - 30.0).abs() < 0.1, "{r:?}");
        let r = judge("group_duration: max<40");
        assert!((r.observed.unwrap() - 10.0).abs() < 0.1, "{r:?}");
        let r = judge("group_duration{group:::other}: avg<40");
        assert!(!r.passed);
        assert!(
            r.detail
                .unwrap()
                .contains("no metric named \"group_duration{group:::other}\"")
        );
    }

    #[test]
    fn thresholds_on_nothing_fail_and_say_so() {
        let r = judge("http_req_duration{name:GET /typo}: p(95)<500");
        assert!(!r.passed);
        assert_eq!(
            r.detail.as_deref(),
            Some("no samples: no request named \"GET /typo\"")
        );
        assert!(!judge("checks{check:missing}: rate>0").passed);
        let r = judge("not_recorded: value<1");
        assert!(!r.passed && r.detail.unwrap().contains("no metric named"));
        assert_eq!(
            judge("http_req_duration{name:GET /typo}: p(95)<500").line(),
            "✗ http_req_duration{name:GET /typo}: p(95)<500ms (no samples: no request named \"GET /typo\")"
        );
    }

    #[test]
    fn abort_rules_fire_after_their_delay_and_never_on_no_samples() {
        let s = summary();
        let rule = |expr: &str, secs| AbortRule {
            threshold: parse(expr).unwrap().remove(0),
            delay: std::time::Duration::from_secs(secs),
        };
        let secs = std::time::Duration::from_secs;
        let slow = [rule("http_req_duration: p(95)<500", 5)];
        assert_eq!(lost(&slow, &s, secs(4)), None, "before its delay");
        let why = lost(&slow, &s, secs(5)).unwrap();
        assert!(
            why.starts_with(
                "aborted at 5s: threshold http_req_duration: p(95)<500ms lost (observed 2"
            ),
            "{why}"
        );
        assert_eq!(
            lost(&[rule("http_req_failed: rate<0.5", 0)], &s, secs(9)),
            None
        );
        let nothing_yet = [rule("http_req_duration{name:GET /later}: p(95)<1", 0)];
        assert_eq!(lost(&nothing_yet, &s, secs(9)), None);
    }

    #[test]
    fn check_and_task_tags_count_every_scenario() {
        let a = summary();
        let mut b = summary();
        b.scenario.name = "other".into();
        // The other scenario fails every one of its checks.
        for c in &mut b.checks {
            (c.passes, c.fails) = (0, c.passes + c.fails);
        }
        let m = crate::metrics::merge::scenarios(vec![a, b]);
        let r = evaluate(&parse("checks{check:ok}: rate>0.5").unwrap(), &m)
            .thresholds
            .remove(0);
        assert!((r.observed.unwrap() - 10.0 / 22.0).abs() < 1e-9, "{r:?}");
        assert!(!r.passed);
    }
}
