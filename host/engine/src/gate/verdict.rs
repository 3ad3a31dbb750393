//! The one verdict of a run: thresholds, baseline rules, the default gate and what the
//! run itself could not do, judged once. Every report prints this verdict and the
//! exit code is its code, so no two surfaces can disagree.

use super::baseline::{self, Rule, RuleResult};
use super::evaluate::ThresholdResult;
use super::judged::{Judged, Verdict};
use super::threshold::Threshold;
use crate::metrics::Summary;

pub use crate::exit;

/// The gate applied when none is configured: as Locust exits 1 on any failure, a run
/// with failed requests or iterations does not pass unless the user says it may.
pub const DEFAULT_GATE: &[&str] = &["http_req_failed: rate==0", "iterations_failed: rate==0"];

/// What a run is judged by.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    pub thresholds: Vec<Threshold>,
    pub baseline: Option<BaselineGate>,
    /// `--allow-failures`: no default gate when no threshold is set.
    pub allow_failures: bool,
}

#[derive(Debug, Clone)]
pub struct BaselineGate {
    /// The baseline's runs: one earlier summary, or several whose spread is the noise
    /// the rules allow for.
    pub history: Vec<Summary>,
    pub rules: Vec<Rule>,
    pub min_samples: u64,
}

/// Judges `summary` by `gate`: its threshold and baseline outcomes and the verdict.
pub fn judge(summary: Summary, gate: &Gate) -> Judged {
    let default_gate = gate.thresholds.is_empty() && !gate.allow_failures;
    let defaults;
    let rules: &[Threshold] = if default_gate {
        defaults = DEFAULT_GATE
            .iter()
            .flat_map(|t| super::parse(t).expect("the default gate parses"))
            .collect::<Vec<_>>();
        &defaults
    } else {
        &gate.thresholds
    };
    let mut thresholds = super::evaluate(rules, &summary).thresholds;
    if default_gate {
        for t in &mut thresholds {
            t.default_gate = true;
        }
    }
    let (baseline, curves) = match &gate.baseline {
        Some(b) => (
            baseline::compare(&b.rules, &b.history, &summary, b.min_samples),
            super::curves::curves(&b.history, &summary).0,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let verdict = decide(&summary, &thresholds, &baseline, default_gate);
    Judged {
        summary,
        thresholds,
        baseline,
        curves,
        verdict: Some(verdict),
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The verdict of a summary given its threshold and baseline outcomes.
fn decide(
    s: &Summary,
    thresholds: &[ThresholdResult],
    baseline: &[RuleResult],
    default_gate: bool,
) -> Verdict {
    let mut reasons = Vec::new();
    if let Some(why) = &s.interrupted {
        reasons.push(format!("interrupted: {why}"));
    }
    for e in &s.run_errors {
        reasons.push(format!("the run did not run as asked: {e}"));
    }
    let failed: Vec<_> = thresholds.iter().filter(|t| !t.passed).collect();
    for t in &failed {
        let gate = if t.default_gate {
            " (default gate: no threshold is set; set thresholds or pass --allow-failures)"
        } else {
            ""
        };
        reasons.push(format!("threshold {}{gate}", t.line()));
    }
    if let Some(why) = &s.aborted {
        reasons.push(format!("aborted: {why}"));
    }
    let regressions: Vec<_> = baseline.iter().filter(|r| r.is_regression()).collect();
    for r in &regressions {
        reasons.push(format!("baseline {}", r.line()));
    }
    let code = if s.interrupted.is_some() {
        exit::INTERRUPTED
    } else if !s.run_errors.is_empty() {
        exit::RUN_FAILED
    } else if !failed.is_empty() || s.aborted.is_some() {
        exit::THRESHOLDS_FAILED
    } else if !regressions.is_empty() {
        exit::BASELINE_REGRESSION
    } else {
        exit::PASSED
    };
    let judged = {
        let mut parts = vec![if default_gate {
            "default gate: no failed requests or iterations".to_string()
        } else {
            plural(thresholds.len(), "threshold")
        }];
        if !baseline.is_empty() {
            parts.push(plural(baseline.len(), "baseline rule"));
            // Not failures, but not passes either: said, so a green run is not read as
            // evidence it did not have.
            let unsure = baseline.iter().filter(|r| r.inconclusive.is_some()).count();
            if unsure > 0 {
                parts.push(format!("{unsure} of them inconclusive"));
            }
        }
        parts.join(", ")
    };
    let headline = match code {
        exit::PASSED => format!("PASSED ({judged})"),
        exit::INTERRUPTED => "INTERRUPTED: figures cover what was measured".to_string(),
        exit::RUN_FAILED => "FAILED: the run did not run the load asked for".to_string(),
        _ => {
            let mut what = Vec::new();
            if !failed.is_empty() {
                what.push(format!(
                    "{} of {} failed",
                    failed.len(),
                    plural(thresholds.len(), "threshold")
                ));
            }
            if s.aborted.is_some() {
                what.push("aborted".into());
            }
            if !regressions.is_empty() {
                what.push(format!(
                    "{} of {} regressed",
                    regressions.len(),
                    plural(baseline.len(), "baseline rule")
                ));
            }
            format!("FAILED: {}", what.join("; "))
        }
    };
    Verdict {
        passed: code == exit::PASSED,
        exit_code: code,
        headline,
        reasons,
        default_gate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::baseline::parse_rule;
    use crate::gate::tests::summary_of as run;

    fn verdict(s: Summary, gate: &Gate) -> Verdict {
        judge(s, gate).verdict.expect("judged")
    }

    fn gate(thresholds: &[&str], base: Option<Summary>) -> Gate {
        Gate {
            thresholds: thresholds
                .iter()
                .flat_map(|t| crate::gate::parse(t).unwrap())
                .collect(),
            baseline: base.map(|summary| BaselineGate {
                history: vec![summary],
                rules: vec![parse_rule("fail: p(95) +20%").unwrap()],
                min_samples: 10,
            }),
            allow_failures: false,
        }
    }

    #[test]
    fn every_combination_of_threshold_and_baseline_gives_one_code() {
        let fast = run(200, 0, 1_000);
        let slow = run(200, 0, 5_000);
        let cases = [
            // (threshold, current, expected code)
            ("http_req_duration: p(95)<100", &fast, exit::PASSED),
            ("http_req_duration: p(95)<2", &slow, exit::THRESHOLDS_FAILED),
            (
                "http_req_duration: p(95)<100",
                &slow,
                exit::BASELINE_REGRESSION,
            ),
            ("http_req_duration: p(95)<2", &fast, exit::PASSED),
        ];
        for (th, cur, want) in cases {
            let j = judge(cur.clone(), &gate(&[th], Some(fast.clone())));
            let v = j.verdict.expect("judged");
            assert_eq!(v.exit_code, want, "{th}: {v:#?}");
            assert_eq!(v.passed, want == exit::PASSED);
            assert_eq!(v.reasons.is_empty(), v.passed, "{v:#?}");
        }
        // Both lost: the threshold's code, and both reasons.
        let v = verdict(slow, &gate(&["http_req_duration: p(95)<2"], Some(fast)));
        assert_eq!(v.exit_code, exit::THRESHOLDS_FAILED);
        // The rule is applied overall and per request name: both regressed.
        assert_eq!(v.reasons.len(), 3, "{v:#?}");
        assert!(
            v.headline.contains("1 of 1 threshold failed"),
            "{}",
            v.headline
        );
        assert!(v.headline.contains("2 of 2 baseline rules regressed"));
    }

    #[test]
    fn without_thresholds_failures_fail_the_default_gate_unless_allowed() {
        let s = run(90, 10, 1_000);
        let v = verdict(s.clone(), &Gate::default());
        assert_eq!(v.exit_code, exit::THRESHOLDS_FAILED);
        assert!(v.default_gate);
        assert!(
            v.reasons[0].contains("http_req_failed: rate==0") && v.reasons[0].contains("0.1"),
            "{v:#?}"
        );
        assert!(v.reasons[0].contains("--allow-failures"));
        let allowed = Gate {
            allow_failures: true,
            ..Gate::default()
        };
        let v = verdict(s, &allowed);
        assert!(v.passed, "{v:#?}");
        assert_eq!(v.headline, "PASSED (0 thresholds)");
        let clean = run(100, 0, 1_000);
        // No iteration ran in this summary: the default gate's iteration rule has no
        // samples, which fails (a run where nothing ran does not pass).
        let v = verdict(clean, &Gate::default());
        assert!(!v.passed, "{v:#?}");
        assert!(
            v.reasons.iter().any(|r| r.contains("no iterations")),
            "{v:#?}"
        );
    }

    #[test]
    fn run_errors_and_interruptions_outrank_the_gate() {
        let mut s = run(100, 0, 1_000);
        s.run_errors = vec!["VUs could not be started".into()];
        let v = verdict(s.clone(), &gate(&["http_req_duration: p(95)<100"], None));
        assert_eq!(v.exit_code, exit::RUN_FAILED);
        assert!(!v.passed);
        s.interrupted = Some("interrupted (Ctrl-C)".into());
        let v = verdict(s, &gate(&["http_req_duration: p(95)<100"], None));
        assert_eq!(v.exit_code, exit::INTERRUPTED);
    }
}
