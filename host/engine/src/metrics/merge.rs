//! Lossless merging of summaries: the scenarios of one run into its whole. Histograms
//! are decoded and added, never averaged, so merged percentiles are exact to HDR
//! precision; counts add; rates are recomputed from the merged counts.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::summary::*;
use super::trend::Trend;

pub fn merge_trends<'a>(parts: impl IntoIterator<Item = &'a TrendSummary>) -> TrendSummary {
    let mut all = Trend::new();
    let mut unit = "us".to_string();
    for t in parts {
        unit = t.hdr_unit.clone();
        // A histogram that does not decode was written by something else than us;
        // `gate::Judged::from_json` callers validate, so skipping is the safe fallback.
        if let Ok(h) = t.trend() {
            all.merge(&h);
        }
    }
    // Both units ("us", "milli") are reported divided by 1000.
    TrendSummary::from_trend(&all, 1e-3, &unit)
}

fn add_maps(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// One endpoint from several (the first one's scenario and name); `secs` is the run's
/// duration, for the rate.
pub fn merge_endpoints(es: &[&EndpointSummary], secs: f64) -> EndpointSummary {
    let mut status = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for e in es {
        add_maps(&mut status, &e.status);
        add_maps(&mut errors, &e.errors);
    }
    let requests = es.iter().map(|e| e.requests).sum::<u64>();
    EndpointSummary {
        scenario: es.first().and_then(|e| e.scenario.clone()),
        name: es.first().map(|e| e.name.clone()).unwrap_or_default(),
        requests,
        failed: es.iter().map(|e| e.failed).sum(),
        rps: requests as f64 / secs.max(1e-9),
        status,
        errors,
        data_sent: es.iter().map(|e| e.data_sent).sum(),
        data_received: es.iter().map(|e| e.data_received).sum(),
        duration: merge_trends(es.iter().map(|e| &e.duration)),
        waiting: merge_trends(es.iter().map(|e| &e.waiting)),
        exemplars: super::exemplars::merge(es.iter().map(|e| e.exemplars.as_slice())),
    }
}

/// Merges the summaries of scenarios that ran together into the run's summary; each
/// part is kept under `scenarios`, and every endpoint, check and task says which
/// scenario it belongs to.
pub fn scenarios(parts: Vec<Summary>) -> Summary {
    let mut parts = parts;
    for p in &mut parts {
        let name = p.scenario.name.clone();
        p.endpoints
            .iter_mut()
            .for_each(|e| e.scenario = Some(name.clone()));
        p.checks
            .iter_mut()
            .for_each(|c| c.scenario = Some(name.clone()));
        p.tasks
            .iter_mut()
            .for_each(|t| t.scenario = Some(name.clone()));
    }
    let mut merged = merge(&parts);
    let mut hash = Sha256::new();
    let mut fingerprint = Sha256::new();
    for p in &parts {
        hash.update(p.scenario.sha256.as_bytes());
        fingerprint.update(p.fingerprint.as_bytes());
    }
    merged.fingerprint = format!("{:x}", fingerprint.finalize());
    merged.segment = parts.first().and_then(|p| p.segment);
    merged.scenario = ScenarioInfo {
        name: parts
            .iter()
            .map(|p| p.scenario.name.as_str())
            .collect::<Vec<_>>()
            .join("+"),
        file: parts
            .iter()
            .map(|p| p.scenario.file.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        sha256: format!("{:x}", hash.finalize()),
        tags: Default::default(),
    };
    merged.errors = {
        let mut by_message: BTreeMap<String, u64> = BTreeMap::new();
        for p in &parts {
            for e in &p.errors {
                *by_message
                    .entry(format!("[{}] {}", p.scenario.name, e.message))
                    .or_default() += e.count;
            }
        }
        sorted_errors(by_message)
    };
    merged.run_errors = parts
        .iter()
        .flat_map(|p| {
            p.run_errors
                .iter()
                .map(|e| format!("[{}] {e}", p.scenario.name))
        })
        .collect();
    merged.scenarios = parts;
    merged
}

/// One part's series in buckets `dt` seconds wide: counts added, the VU gauge the
/// last one in the bucket, histograms merged.
fn widen(points: &[SeriesPoint], dt: u32) -> Vec<SeriesPoint> {
    let mut out: Vec<SeriesPoint> = Vec::new();
    let mut held: Vec<&SeriesPoint> = Vec::new();
    let flush = |held: &mut Vec<&SeriesPoint>, out: &mut Vec<SeriesPoint>| {
        let Some(last) = held.last() else { return };
        let durations: Vec<&TrendSummary> =
            held.iter().filter_map(|p| p.duration.as_ref()).collect();
        out.push(SeriesPoint {
            t: last.t / dt * dt,
            dt,
            requests: held.iter().map(|p| p.requests).sum(),
            failed: held.iter().map(|p| p.failed).sum(),
            iterations: held.iter().map(|p| p.iterations).sum(),
            vus: last.vus,
            duration: match durations.len() {
                0 => None,
                1 => Some(durations[0].clone()),
                _ => Some(merge_trends(durations)),
            },
        });
        held.clear();
    };
    for p in points {
        if held.first().is_some_and(|h| h.t / dt != p.t / dt) {
            flush(&mut held, &mut out);
        }
        held.push(p);
    }
    flush(&mut held, &mut out);
    out
}

fn sorted_errors(by_message: BTreeMap<String, u64>) -> Vec<ErrorCount> {
    let mut errors: Vec<ErrorCount> = by_message
        .into_iter()
        .map(|(message, count)| ErrorCount { message, count })
        .collect();
    errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.message.cmp(&b.message)));
    errors
}

/// Adds `parts` together; endpoints, checks and tasks with the same scenario and name
/// become one.
pub fn merge(parts: &[Summary]) -> Summary {
    let first = parts.first().cloned().expect("merging no summaries");
    let duration_s = parts.iter().map(|p| p.duration_s).fold(0.0, f64::max);
    let secs = duration_s.max(1e-9);
    let sum = |f: fn(&Totals) -> u64| parts.iter().map(|p| f(&p.totals)).sum::<u64>();
    let (reqs, failed) = (sum(|t| t.http_reqs), sum(|t| t.http_req_failed));
    let totals = Totals {
        http_reqs: reqs,
        http_req_failed: failed,
        http_reqs_rate: reqs as f64 / secs,
        http_req_failed_rate: if reqs == 0 {
            0.0
        } else {
            failed as f64 / reqs as f64
        },
        data_sent: sum(|t| t.data_sent),
        data_received: sum(|t| t.data_received),
        iterations: sum(|t| t.iterations),
        iterations_failed: sum(|t| t.iterations_failed),
        dropped_iterations: sum(|t| t.dropped_iterations),
        checks_passed: sum(|t| t.checks_passed),
        checks_failed: sum(|t| t.checks_failed),
    };

    type Key = (Option<String>, String);
    let mut endpoints: BTreeMap<Key, Vec<&EndpointSummary>> = BTreeMap::new();
    let mut checks: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    let mut tasks: BTreeMap<Key, Vec<&TaskSummary>> = BTreeMap::new();
    let mut custom: BTreeMap<String, Vec<&CustomSummary>> = BTreeMap::new();
    let mut tagged: BTreeMap<String, Vec<&TaggedSummary>> = BTreeMap::new();
    let mut tagged_checks: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    // Parts that ran long enough to have their buckets widened are met at the widest.
    let dt = parts
        .iter()
        .flat_map(|p| p.series.iter().map(|s| s.dt.max(1)))
        .max()
        .unwrap_or(1);
    let mut series: BTreeMap<u32, Vec<SeriesPoint>> = BTreeMap::new();
    let mut warnings: Vec<String> = Vec::new();
    for p in parts {
        for e in &p.endpoints {
            endpoints
                .entry((e.scenario.clone(), e.name.clone()))
                .or_default()
                .push(e);
        }
        for c in &p.checks {
            let k = checks
                .entry((c.scenario.clone(), c.name.clone()))
                .or_default();
            k.0 += c.passes;
            k.1 += c.fails;
        }
        for t in &p.tasks {
            tasks
                .entry((t.scenario.clone(), t.name.clone()))
                .or_default()
                .push(t);
        }
        for c in &p.custom {
            custom.entry(c.name.clone()).or_default().push(c);
        }
        for t in &p.tagged {
            tagged.entry(t.tag.clone()).or_default().push(t);
        }
        for t in &p.tagged_checks {
            let k = tagged_checks.entry(t.tag.clone()).or_default();
            k.0 += t.passes;
            k.1 += t.fails;
        }
        for e in &p.errors {
            *errors.entry(e.message.clone()).or_default() += e.count;
        }
        for s in widen(&p.series, dt) {
            series.entry(s.t).or_default().push(s);
        }
        for w in &p.warnings {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
    }
    let endpoints = endpoints
        .into_values()
        .map(|es| merge_endpoints(&es, secs))
        .collect();
    let checks = checks
        .into_iter()
        .map(|((scenario, name), (passes, fails))| CheckSummary {
            scenario,
            name,
            passes,
            fails,
        })
        .collect();
    let tasks = tasks
        .into_iter()
        .map(|((scenario, name), ts)| TaskSummary {
            scenario,
            name,
            runs: ts.iter().map(|t| t.runs).sum(),
            failures: ts.iter().map(|t| t.failures).sum(),
            duration: merge_trends(ts.iter().map(|t| &t.duration)),
        })
        .collect();
    let tagged = tagged
        .into_iter()
        .map(|(tag, ts)| TaggedSummary {
            tag,
            requests: ts.iter().map(|t| t.requests).sum(),
            failed: ts.iter().map(|t| t.failed).sum(),
            duration: merge_trends(ts.iter().map(|t| &t.duration)),
            waiting: merge_trends(ts.iter().map(|t| &t.waiting)),
        })
        .collect();
    let custom = custom
        .into_iter()
        .map(|(name, cs)| {
            let count: u64 = cs.iter().map(|c| c.count).sum();
            let kind = cs[0].kind.clone();
            let trends: Vec<&TrendSummary> = cs.iter().filter_map(|c| c.trend.as_ref()).collect();
            let trend = (!trends.is_empty()).then(|| merge_trends(trends));
            let value = match kind.as_str() {
                "counter" => cs.iter().map(|c| c.value).sum(),
                // The fraction true, weighted by each part's samples.
                "rate" => {
                    cs.iter().map(|c| c.value * c.count as f64).sum::<f64>() / count.max(1) as f64
                }
                "trend" => trend.as_ref().map_or(0.0, |t| t.avg),
                // A gauge's last value: the part that ran longest has the latest.
                _ => cs.last().map_or(0.0, |c| c.value),
            };
            CustomSummary {
                name,
                kind,
                value,
                count,
                trend,
            }
        })
        .collect();
    let series = series
        .into_iter()
        .map(|(t, ps)| {
            let durations: Vec<&TrendSummary> =
                ps.iter().filter_map(|p| p.duration.as_ref()).collect();
            SeriesPoint {
                t,
                dt,
                requests: ps.iter().map(|p| p.requests).sum(),
                failed: ps.iter().map(|p| p.failed).sum(),
                iterations: ps.iter().map(|p| p.iterations).sum(),
                vus: ps.iter().map(|p| p.vus).sum(),
                duration: (!durations.is_empty()).then(|| merge_trends(durations)),
            }
        })
        .collect();
    let same_model = parts.iter().all(|p| p.model == first.model);
    Summary {
        schema: SCHEMA.into(),
        stampede_version: first.stampede_version.clone(),
        scenario: first.scenario.clone(),
        target: first.target.clone(),
        started_at_ms: parts.iter().map(|p| p.started_at_ms).min().unwrap_or(0),
        duration_s,
        model: if same_model {
            first.model.clone()
        } else {
            "mixed".into()
        },
        vus_max: parts.iter().map(|p| p.vus_max).sum(),
        interrupted: parts.iter().find_map(|p| p.interrupted.clone()),
        aborted: parts.iter().find_map(|p| p.aborted.clone()),
        totals,
        http_req_duration: merge_trends(parts.iter().map(|p| &p.http_req_duration)),
        http_req_waiting: merge_trends(parts.iter().map(|p| &p.http_req_waiting)),
        http_req_connecting: merge_trends(parts.iter().map(|p| &p.http_req_connecting)),
        http_req_tls_handshaking: merge_trends(parts.iter().map(|p| &p.http_req_tls_handshaking)),
        iteration_duration: merge_trends(parts.iter().map(|p| &p.iteration_duration)),
        endpoints,
        tagged,
        checks,
        tagged_checks: tagged_checks
            .into_iter()
            .map(|(tag, (passes, fails))| TaggedChecks { tag, passes, fails })
            .collect(),
        tasks,
        errors: sorted_errors(errors),
        custom,
        series,
        warnings,
        run_errors: parts.iter().fold(Vec::new(), |mut all, p| {
            for e in &p.run_errors {
                if !all.contains(e) {
                    all.push(e.clone());
                }
            }
            all
        }),
        segment: None,
        peak_rss_kib: parts.iter().map(|p| p.peak_rss_kib).max().unwrap_or(0),
        fingerprint: first.fingerprint.clone(),
        scenarios: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::aggregate::{Aggregator, RunMeta};
    use crate::metrics::event::{Event, RequestSample};
    use crate::metrics::names::Names;
    use std::sync::Arc;

    /// A scenario named `name` with `n` requests to "GET /a" taking 1..=n ms and one
    /// check per request.
    fn part(name: &str, n: u64, offset_ms: u64) -> Summary {
        let names = Arc::new(Names::new(100));
        let (a, c) = (names.intern("GET /a"), names.intern("ok"));
        let filter = [vec![("method".to_string(), "GET".to_string())]];
        let sets = Arc::new(Names::new(10));
        let mut agg = Aggregator::new(names).with_tag_filters(&filter, Default::default(), sets);
        for ms in 1..=n {
            agg.add(&Event::Request(RequestSample {
                verdict: Default::default(),
                method: Default::default(),
                tags: None,
                trace: None,
                name: a,
                status: 200,
                error: None,
                at_ms: (ms * 10) as u32,
                duration_us: (ms + offset_ms) * 1000,
                waiting_us: 0,
                connecting_us: 0,
                tls_us: 0,
                bytes_sent: 1,
                bytes_received: 2,
            }));
            agg.add(&Event::Check {
                name: c,
                ok: true,
                tags: None,
            });
        }
        let mut meta = RunMeta::for_tests(10.0);
        meta.scenario.name = name.into();
        agg.summary(meta)
    }

    #[test]
    fn scenarios_keep_their_endpoints_apart_and_the_whole_is_exact() {
        let (a, b) = (part("browse", 100, 0), part("checkout", 100, 100));
        let m = scenarios(vec![a.clone(), b.clone()]);
        assert_eq!(m.scenario.name, "browse+checkout");
        assert_eq!(m.totals.http_reqs, 200);
        assert_eq!(m.endpoints.len(), 2, "same name, two scenarios");
        assert_eq!(m.endpoints[0].scenario.as_deref(), Some("browse"));
        assert_eq!(m.checks.len(), 2);
        assert_eq!(m.scenarios.len(), 2);
        assert_eq!(
            m.scenarios[1].endpoints[0].scenario.as_deref(),
            Some("checkout")
        );
        // 1..=200 ms in all: the merged median is 100 ms, the p95 190 ms (HDR 0.1%).
        assert!(
            (m.http_req_duration.med - 100.0).abs() < 0.2,
            "{}",
            m.http_req_duration.med
        );
        assert!(
            (m.http_req_duration.p95 - 190.0).abs() < 0.3,
            "{}",
            m.http_req_duration.p95
        );
        assert!((m.totals.http_reqs_rate - 20.0).abs() < 1e-9);
        assert_eq!(m.series.iter().map(|p| p.requests).sum::<u64>(), 200);
        // Merging a summary with itself doubles counts and keeps percentiles.
        let twice = merge(&[a.clone(), a.clone()]);
        assert_eq!(twice.endpoints.len(), 1);
        assert_eq!(twice.endpoints[0].requests, 200);
        assert_eq!(twice.http_req_duration.p95, a.http_req_duration.p95);
        assert_eq!(twice.checks[0].passes, 200);
        // Requests kept by tag add up too, their histograms losslessly.
        assert_eq!(twice.tagged.len(), 1);
        assert_eq!(twice.tagged[0].requests, 200);
        assert_eq!(twice.tagged[0].duration.p95, a.http_req_duration.p95);
        assert_eq!(m.tagged[0].requests, 200, "{:?}", m.tagged);
    }

    #[test]
    fn parts_with_wider_buckets_are_met_at_the_widest_without_losing_a_request() {
        let one = part("a", 100, 0); // 100 requests over seconds 0..=1, dt 1
        let mut wide = part("a", 100, 0);
        for p in &mut wide.series {
            p.vus = 3;
        }
        wide.series = widen(&wide.series, 4);
        wide.series[0].vus = 5;
        assert_eq!((wide.series.len(), wide.series[0].dt), (1, 4));
        let m = merge(&[one.clone(), wide]);
        assert_eq!(m.series.len(), 1);
        let p = &m.series[0];
        assert_eq!((p.t, p.dt, p.requests), (0, 4, 200));
        assert_eq!(p.duration.as_ref().unwrap().count, 200);
        // The narrow part's gauge is its last second's, the wide part's its own.
        assert_eq!(p.vus, one.series.last().unwrap().vus + 5);
    }
}
