//! A run's measurements with their judgement: what every report renders and what
//! `--summary-json` writes. Measurement ([`Summary`]) and judgement are separate types;
//! the document joins them on the wire in one flat JSON object (the schema users
//! already read), so neither the format nor the dependency between them changes.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::baseline::RuleResult;
use super::curves::Curve;
use super::evaluate::ThresholdResult;
use crate::metrics::Summary;
use crate::metrics::summary::{
    CheckSummary, CustomSummary, EndpointSummary, ErrorCount, SCHEMA, ScenarioInfo, SegmentInfo,
    SeriesPoint, TaggedChecks, TaggedSummary, TaskSummary, Totals, TrendSummary,
};

/// A summary and what the gate made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub summary: Summary,
    pub thresholds: Vec<ThresholdResult>,
    pub baseline: Vec<RuleResult>,
    /// The baseline's and this run's latency percentiles, when compared.
    pub curves: Vec<Curve>,
    /// `None` for a summary read back that was never judged.
    pub verdict: Option<Verdict>,
}

impl Judged {
    /// A summary nobody has judged yet.
    pub fn unjudged(summary: Summary) -> Self {
        Judged {
            summary,
            thresholds: Vec::new(),
            baseline: Vec::new(),
            curves: Vec::new(),
            verdict: None,
        }
    }

    /// The JSON schema of `--summary-json` output (committed as
    /// `schemas/summary.schema.json`; a test keeps the two in step).
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Document);
        serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&Document::of(
            &self.summary,
            &self.thresholds,
            &self.baseline,
            &self.curves,
            self.verdict.as_ref(),
        ))
        .expect("summary serializes")
    }

    pub fn from_json(text: &str) -> Result<Judged, String> {
        let d: Document = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if d.schema != SCHEMA {
            return Err(format!(
                "unsupported summary schema {:?} (this stampede reads {SCHEMA})",
                d.schema
            ));
        }
        Ok(d.into_judged())
    }
}

// serde hands the field itself to `skip_serializing_if`.
#[allow(clippy::ptr_arg)]
fn is_empty<T: Clone>(v: &Cow<'_, [T]>) -> bool {
    v.is_empty()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub passed: bool,
    /// The process's exit code.
    pub exit_code: u8,
    /// One line, e.g. `PASSED (3 thresholds, 2 baseline rules)` or
    /// `FAILED: 1 of 3 thresholds failed`.
    pub headline: String,
    /// Every reason the run did not pass, one line each.
    pub reasons: Vec<String>,
    /// No threshold was set, so the default gate (no failed requests or iterations)
    /// judged the run.
    pub default_gate: bool,
}

impl Verdict {
    /// `✓ PASSED (...)` / `✗ FAILED: ...`.
    pub fn line(&self) -> String {
        format!("{} {}", if self.passed { '✓' } else { '✗' }, self.headline)
    }
}

// The wire form: the summary's fields with the judgement's in their places. Borrows
// when written, owns when read. (A plain comment: a doc comment would enter the
// published schema.)
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Summary")]
#[schemars(rename = "Summary")]
struct Document<'a> {
    schema: Cow<'a, str>,
    stampede_version: Cow<'a, str>,
    scenario: Cow<'a, ScenarioInfo>,
    /// Base URL relative request paths were resolved against.
    target: Option<Cow<'a, str>>,
    /// Unix time in milliseconds when load started.
    started_at_ms: u64,
    duration_s: f64,
    /// `closed` (VU loops: latency is service time) or `open` (arrival rate: latency
    /// from the scheduled start).
    model: Cow<'a, str>,
    vus_max: u32,
    /// Set when the run was cut short (Ctrl-C, fatal error); the figures cover what was
    /// measured until then.
    interrupted: Option<Cow<'a, str>>,
    /// Set when an `abort_on_fail` threshold stopped the run early: which one, when.
    #[serde(default)]
    aborted: Option<Cow<'a, str>>,
    totals: Cow<'a, Totals>,
    http_req_duration: Cow<'a, TrendSummary>,
    http_req_waiting: Cow<'a, TrendSummary>,
    http_req_connecting: Cow<'a, TrendSummary>,
    http_req_tls_handshaking: Cow<'a, TrendSummary>,
    iteration_duration: Cow<'a, TrendSummary>,
    endpoints: Cow<'a, [EndpointSummary]>,
    /// Requests by each tag a threshold filters them by (`http_req_duration{type:API}`).
    #[serde(default, skip_serializing_if = "is_empty")]
    tagged: Cow<'a, [TaggedSummary]>,
    checks: Cow<'a, [CheckSummary]>,
    /// Checks by each tag a threshold filters them by (`checks{myTag:x}`).
    #[serde(default, skip_serializing_if = "is_empty")]
    tagged_checks: Cow<'a, [TaggedChecks]>,
    tasks: Cow<'a, [TaskSummary]>,
    /// Distinct failure messages (task errors, traps, setup failures) with counts.
    errors: Cow<'a, [ErrorCount]>,
    custom: Cow<'a, [CustomSummary]>,
    /// One point per second of the run.
    series: Cow<'a, [SeriesPoint]>,
    warnings: Cow<'a, [String]>,
    /// Threshold outcomes, when the run was judged.
    #[serde(default)]
    thresholds: Cow<'a, [ThresholdResult]>,
    /// Baseline rule outcomes, when compared with a previous run.
    #[serde(default)]
    baseline: Cow<'a, [RuleResult]>,
    /// Latency percentiles (p50, p75, p90, p95, p99, p99.9) of the baseline and of this
    /// run, overall and for the busiest request names, when compared.
    #[serde(default, skip_serializing_if = "is_empty")]
    baseline_curves: Cow<'a, [Curve]>,
    /// What the run could not do as asked (VUs that could not be instantiated); any
    /// of these fails the verdict.
    #[serde(default, skip_serializing_if = "is_empty")]
    run_errors: Cow<'a, [String]>,
    /// The one verdict every report shows, when the run was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<Cow<'a, Verdict>>,
    /// Which share of a run split over several processes this is (`--segment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    segment: Option<SegmentInfo>,
    /// Peak resident memory of the stampede process itself, KiB (Linux; 0 elsewhere):
    /// what the run cost the machine, sandbox included.
    #[serde(default)]
    peak_rss_kib: u64,
    /// Hash of the components, the whole (unsplit) plan and the env: segments merge
    /// only when theirs are equal.
    #[serde(default)]
    fingerprint: Cow<'a, str>,
    /// In a run of several scenarios, each one's own summary (what `{scenario:NAME}`
    /// thresholds read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scenarios: Vec<Document<'a>>,
}

impl<'a> Document<'a> {
    fn of(
        s: &'a Summary,
        thresholds: &'a [ThresholdResult],
        baseline: &'a [RuleResult],
        curves: &'a [Curve],
        verdict: Option<&'a Verdict>,
    ) -> Self {
        Document {
            schema: Cow::Borrowed(&s.schema),
            stampede_version: Cow::Borrowed(&s.stampede_version),
            scenario: Cow::Borrowed(&s.scenario),
            target: s.target.as_deref().map(Cow::Borrowed),
            started_at_ms: s.started_at_ms,
            duration_s: s.duration_s,
            model: Cow::Borrowed(&s.model),
            vus_max: s.vus_max,
            interrupted: s.interrupted.as_deref().map(Cow::Borrowed),
            aborted: s.aborted.as_deref().map(Cow::Borrowed),
            totals: Cow::Borrowed(&s.totals),
            http_req_duration: Cow::Borrowed(&s.http_req_duration),
            http_req_waiting: Cow::Borrowed(&s.http_req_waiting),
            http_req_connecting: Cow::Borrowed(&s.http_req_connecting),
            http_req_tls_handshaking: Cow::Borrowed(&s.http_req_tls_handshaking),
            iteration_duration: Cow::Borrowed(&s.iteration_duration),
            endpoints: Cow::Borrowed(&s.endpoints),
            tagged: Cow::Borrowed(&s.tagged),
            checks: Cow::Borrowed(&s.checks),
            tagged_checks: Cow::Borrowed(&s.tagged_checks),
            tasks: Cow::Borrowed(&s.tasks),
            errors: Cow::Borrowed(&s.errors),
            custom: Cow::Borrowed(&s.custom),
            series: Cow::Borrowed(&s.series),
            warnings: Cow::Borrowed(&s.warnings),
            thresholds: Cow::Borrowed(thresholds),
            baseline: Cow::Borrowed(baseline),
            baseline_curves: Cow::Borrowed(curves),
            run_errors: Cow::Borrowed(&s.run_errors),
            verdict: verdict.map(Cow::Borrowed),
            segment: s.segment,
            peak_rss_kib: s.peak_rss_kib,
            fingerprint: Cow::Borrowed(&s.fingerprint),
            // A scenario's own summary is measured, never judged apart.
            scenarios: s
                .scenarios
                .iter()
                .map(|x| Document::of(x, &[], &[], &[], None))
                .collect(),
        }
    }

    fn into_judged(self) -> Judged {
        let Document {
            schema,
            stampede_version,
            scenario,
            target,
            started_at_ms,
            duration_s,
            model,
            vus_max,
            interrupted,
            aborted,
            totals,
            http_req_duration,
            http_req_waiting,
            http_req_connecting,
            http_req_tls_handshaking,
            iteration_duration,
            endpoints,
            tagged,
            checks,
            tagged_checks,
            tasks,
            errors,
            custom,
            series,
            warnings,
            thresholds,
            baseline,
            baseline_curves,
            run_errors,
            verdict,
            segment,
            peak_rss_kib,
            fingerprint,
            scenarios,
        } = self;
        Judged {
            summary: Summary {
                schema: schema.into_owned(),
                stampede_version: stampede_version.into_owned(),
                scenario: scenario.into_owned(),
                target: target.map(Cow::into_owned),
                started_at_ms,
                duration_s,
                model: model.into_owned(),
                vus_max,
                interrupted: interrupted.map(Cow::into_owned),
                aborted: aborted.map(Cow::into_owned),
                totals: totals.into_owned(),
                http_req_duration: http_req_duration.into_owned(),
                http_req_waiting: http_req_waiting.into_owned(),
                http_req_connecting: http_req_connecting.into_owned(),
                http_req_tls_handshaking: http_req_tls_handshaking.into_owned(),
                iteration_duration: iteration_duration.into_owned(),
                endpoints: endpoints.into_owned(),
                tagged: tagged.into_owned(),
                checks: checks.into_owned(),
                tagged_checks: tagged_checks.into_owned(),
                tasks: tasks.into_owned(),
                errors: errors.into_owned(),
                custom: custom.into_owned(),
                series: series.into_owned(),
                warnings: warnings.into_owned(),
                run_errors: run_errors.into_owned(),
                segment,
                peak_rss_kib,
                fingerprint: fingerprint.into_owned(),
                scenarios: scenarios
                    .into_iter()
                    .map(|d| d.into_judged().summary)
                    .collect(),
            },
            thresholds: thresholds.into_owned(),
            baseline: baseline.into_owned(),
            curves: baseline_curves.into_owned(),
            verdict: verdict.map(Cow::into_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::tests::summary_of;
    use crate::gate::{Gate, judge};

    /// Two good requests and one failed, 1.5 ms each.
    fn measured() -> Summary {
        summary_of(2, 1, 1_500)
    }

    #[test]
    fn a_judged_summary_round_trips_through_json() {
        let mut s = measured();
        s.run_errors = vec!["a VU could not start".into()];
        s.scenarios = vec![measured(), measured()];
        let judged = judge(s, &Gate::default());
        assert!(!judged.thresholds.is_empty() && judged.verdict.is_some());
        let text = judged.to_json();
        let back = Judged::from_json(&text).unwrap();
        assert_eq!(back, judged);
        assert_eq!(
            back.summary.http_req_duration.trend().unwrap().count(),
            3,
            "histograms travel losslessly"
        );
        // Scenarios' own summaries carry no judgement of their own.
        assert_eq!(back.summary.scenarios.len(), 2);
        // Written again, byte for byte the same.
        assert_eq!(back.to_json(), text);
        // Never judged: no verdict, no outcomes, and the file says so by omission.
        let plain = Judged::unjudged(measured());
        let text = plain.to_json();
        assert!(!text.contains("\"verdict\""), "{text}");
        assert_eq!(Judged::from_json(&text).unwrap(), plain);
    }

    #[test]
    fn another_schema_is_refused_by_name() {
        let text = Judged::unjudged(measured())
            .to_json()
            .replace(SCHEMA, "stampede-summary/0");
        let e = Judged::from_json(&text).unwrap_err();
        assert!(e.contains("unsupported summary schema"), "{e}");
    }
}
