//! Comparing a run with a known-good one: rules such as `fail: p(95) +20%`,
//! `fail: error_rate +0.5pp`, `warn: rps -15%`, applied overall and per request name,
//! each only with enough samples on both sides.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Fail,
    Warn,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Request duration percentile, ms.
    P(f64),
    /// Mean request duration, ms.
    Avg,
    /// Failed requests, as a fraction.
    ErrorRate,
    /// Requests per second.
    Rps,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Relative change in percent (signed: +20 means "grew by more than 20%").
    Percent(f64),
    /// Absolute change in percentage points (for rates).
    Points(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub source: String,
    pub level: Level,
    pub stat: Stat,
    pub change: Change,
}

/// The seed's release policy, used when `--baseline` comes without rules.
pub const DEFAULT_RULES: &[&str] = &[
    "fail: p(95) +20%",
    "fail: error_rate +0.5pp",
    "warn: rps -15%",
];

pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let err = |m: &str| format!("baseline rule {text:?}: {m}");
    let (level, rest) = text
        .split_once(':')
        .ok_or_else(|| err("expected LEVEL: STAT CHANGE, e.g. 'fail: p(95) +20%'"))?;
    let level = match level.trim() {
        "fail" => Level::Fail,
        "warn" => Level::Warn,
        l => return Err(err(&format!("level {l:?} is not fail or warn"))),
    };
    let mut parts = rest.split_whitespace();
    let (Some(stat), Some(change), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err(
            "expected a statistic and a signed change, e.g. p(95) +20%",
        ));
    };
    let stat = match stat {
        "avg" => Stat::Avg,
        "error_rate" => Stat::ErrorRate,
        "rps" => Stat::Rps,
        s if s.starts_with("p(") && s.ends_with(')') => {
            let p: f64 = s[2..s.len() - 1]
                .parse()
                .map_err(|_| err("the percentile must be a number, e.g. p(95)"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(err("the percentile must be between 0 and 100"));
            }
            Stat::P(p)
        }
        s => {
            return Err(err(&format!(
                "unknown statistic {s:?}; use p(N), avg, error_rate or rps"
            )));
        }
    };
    if !change.starts_with(['+', '-']) {
        return Err(err("the change needs a sign: + for growth, - for a drop"));
    }
    let change = if let Some(v) = change.strip_suffix("pp") {
        if stat != Stat::ErrorRate {
            return Err(err("percentage points (pp) apply to error_rate only"));
        }
        Change::Points(v.parse().map_err(|_| err("the change must be a number"))?)
    } else if let Some(v) = change.strip_suffix('%') {
        Change::Percent(v.parse().map_err(|_| err("the change must be a number"))?)
    } else {
        return Err(err(
            "the change needs a unit: % (relative) or pp (error_rate points)",
        ));
    };
    Ok(Rule {
        source: text.trim().to_string(),
        level,
        stat,
        change,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleResult {
    pub rule: String,
    pub level: Level,
    /// `overall` or a request name.
    pub scope: String,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// The change measured, in the rule's unit (% or pp).
    pub change: Option<f64>,
    /// True when the change went past the rule.
    pub breached: bool,
    /// Why the rule was not applied (too few samples).
    pub skipped: Option<String>,
}

impl RuleResult {
    /// One side's value with its unit: a duration in ms, an error rate in %, a rate
    /// per second.
    fn value(&self, v: f64) -> String {
        let f = super::evaluate::fmt_observed;
        if self.rule.contains("error_rate") {
            format!("{}%", f(v * 100.0))
        } else if self.rule.contains("rps") {
            format!("{}/s", f(v))
        } else {
            format!("{}ms", f(v))
        }
    }

    /// A `fail` rule whose change went past its limit.
    pub fn is_regression(&self) -> bool {
        self.breached && self.level == Level::Fail
    }

    pub fn line(&self) -> String {
        let mark = match (self.breached, self.level) {
            (false, _) => '✓',
            (true, Level::Fail) => '✗',
            (true, Level::Warn) => '!',
        };
        match (&self.skipped, self.baseline, self.current, self.change) {
            (Some(why), ..) => format!("- {} [{}] skipped: {why}", self.rule, self.scope),
            (None, Some(b), Some(c), Some(d)) => {
                let unit = if self.rule.ends_with("pp") { "pp" } else { "%" };
                format!(
                    "{mark} {} [{}] baseline {} → {} ({d:+.1}{unit})",
                    self.rule,
                    self.scope,
                    self.value(b),
                    self.value(c)
                )
            }
            _ => format!("{mark} {} [{}]", self.rule, self.scope),
        }
    }
}

/// Samples (requests) needed on each side for a rule to apply.
pub const DEFAULT_MIN_SAMPLES: u64 = 100;

struct Side<'a> {
    requests: u64,
    failed: u64,
    rps: f64,
    duration: &'a crate::metrics::summary::TrendSummary,
}

fn stat(side: &Side, s: Stat) -> Option<f64> {
    Some(match s {
        Stat::P(p) => side.duration.trend().ok()?.percentile(p) as f64 / 1000.0,
        Stat::Avg => side.duration.avg,
        Stat::ErrorRate => side.failed as f64 / side.requests.max(1) as f64,
        Stat::Rps => side.rps,
    })
}

fn judge(rule: &Rule, scope: &str, base: &Side, cur: &Side, min: u64) -> RuleResult {
    let mut r = RuleResult {
        rule: rule.source.clone(),
        level: rule.level,
        scope: scope.to_string(),
        baseline: None,
        current: None,
        change: None,
        breached: false,
        skipped: None,
    };
    if base.requests < min || cur.requests < min {
        r.skipped = Some(format!(
            "{} baseline and {} current requests, {min} needed on each side",
            base.requests, cur.requests
        ));
        return r;
    }
    let (Some(b), Some(c)) = (stat(base, rule.stat), stat(cur, rule.stat)) else {
        r.skipped = Some("the statistic could not be read".into());
        return r;
    };
    r.baseline = Some(b);
    r.current = Some(c);
    let (delta, limit) = match rule.change {
        Change::Points(pp) => ((c - b) * 100.0, pp),
        Change::Percent(pct) => {
            if b == 0.0 {
                r.skipped = Some("the baseline value is 0, so no relative change".into());
                return r;
            }
            ((c - b) / b * 100.0, pct)
        }
    };
    r.change = Some(delta);
    r.breached = if limit >= 0.0 {
        delta > limit
    } else {
        delta < limit
    };
    r
}

/// Applies every rule overall and to each request name present in both runs.
pub fn compare(rules: &[Rule], base: &Summary, cur: &Summary, min_samples: u64) -> Vec<RuleResult> {
    fn overall(s: &Summary) -> Side<'_> {
        Side {
            requests: s.totals.http_reqs,
            failed: s.totals.http_req_failed,
            rps: s.totals.http_reqs_rate,
            duration: &s.http_req_duration,
        }
    }
    fn side(x: &crate::metrics::summary::EndpointSummary) -> Side<'_> {
        Side {
            requests: x.requests,
            failed: x.failed,
            rps: x.rps,
            duration: &x.duration,
        }
    }
    let mut out = Vec::new();
    for rule in rules {
        out.push(judge(
            rule,
            "overall",
            &overall(base),
            &overall(cur),
            min_samples,
        ));
        for e in &cur.endpoints {
            let Some(b) = base.endpoints.iter().find(|b| b.name == e.name) else {
                continue;
            };
            out.push(judge(rule, &e.name, &side(b), &side(e), min_samples));
        }
    }
    out
}

/// True when a `fail` rule was breached.
pub fn regressed(results: &[RuleResult]) -> bool {
    results.iter().any(RuleResult::is_regression)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::aggregate::{Aggregator, RunMeta};
    use crate::metrics::event::{Event, RequestSample};
    use crate::metrics::names::Names;
    use std::sync::Arc;

    fn run(ms: u64, failures: u64, n: u64) -> Summary {
        let names = Arc::new(Names::new(10));
        let a = names.intern("GET /a");
        let mut agg = Aggregator::new(names);
        for i in 0..n {
            agg.add(&Event::Request(RequestSample {
                name: a,
                status: if i < failures { 500 } else { 200 },
                error: None,
                at_ms: 0,
                duration_us: ms * 1000,
                waiting_us: 0,
                connecting_us: 0,
                tls_us: 0,
                bytes_sent: 0,
                bytes_received: 0,
            }));
        }
        agg.summary(RunMeta::for_tests(10.0))
    }

    #[test]
    fn rules_parse_and_refuse_nonsense() {
        let r = parse_rule("fail: p(95) +20%").unwrap();
        assert_eq!(
            (r.level, r.stat, r.change),
            (Level::Fail, Stat::P(95.0), Change::Percent(20.0))
        );
        assert_eq!(
            parse_rule("fail: error_rate +0.5pp").unwrap().change,
            Change::Points(0.5)
        );
        assert_eq!(
            parse_rule("warn: rps -15%").unwrap().change,
            Change::Percent(-15.0)
        );
        assert!(
            parse_rule("fail: p(95) 20%")
                .unwrap_err()
                .contains("needs a sign")
        );
        assert!(
            parse_rule("block: rps -1%")
                .unwrap_err()
                .contains("not fail or warn")
        );
        assert!(
            parse_rule("fail: rps +1pp")
                .unwrap_err()
                .contains("error_rate only")
        );
        assert!(
            parse_rule("fail: p95 +1%")
                .unwrap_err()
                .contains("unknown statistic")
        );
    }

    #[test]
    fn a_slower_run_breaches_and_a_similar_one_does_not() {
        let rules: Vec<Rule> = DEFAULT_RULES
            .iter()
            .map(|r| parse_rule(r).unwrap())
            .collect();
        let base = run(100, 0, 200);
        let same = compare(&rules, &base, &run(105, 0, 200), 100);
        assert!(!regressed(&same), "{same:#?}");
        let slow = compare(&rules, &base, &run(130, 0, 200), 100);
        assert!(regressed(&slow));
        let p95 = slow
            .iter()
            .find(|r| r.rule.starts_with("fail: p(95)") && r.scope == "overall")
            .unwrap();
        assert!(p95.breached);
        assert!((p95.change.unwrap() - 30.0).abs() < 0.5, "{p95:?}");
        assert_eq!(
            (
                p95.baseline.map(|b| b.round()),
                p95.current.map(|c| c.round())
            ),
            (Some(100.0), Some(130.0))
        );
        // Error rate: 0 → 1% is +1pp, past the 0.5pp rule.
        let errs = compare(&rules, &base, &run(100, 2, 200), 100);
        assert!(
            errs.iter()
                .any(|r| r.rule.contains("error_rate") && r.breached)
        );
    }

    #[test]
    fn too_few_samples_skip_the_rule() {
        let rules = vec![parse_rule("fail: p(95) +20%").unwrap()];
        let r = compare(&rules, &run(100, 0, 50), &run(500, 0, 50), 100);
        assert!(!regressed(&r));
        assert!(
            r[0].skipped
                .as_deref()
                .unwrap()
                .contains("100 needed on each side")
        );
    }
}
