//! Comparing a run with a known-good one: rules such as `fail: p(95) +20%`,
//! `fail: error_rate +0.5pp`, `warn: rps -15%`, applied overall and per request name.
//! A rule is judged on the change's interval at its confidence (95% unless the rule says
//! `@99%`), from the histograms ([`super::stats`]): past its limit only when the whole
//! interval is, within it only when the whole interval is, and otherwise inconclusive,
//! with why.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::rule::{Change, DEFAULT_CONFIDENCE, DEFAULT_RULES, Level, Rule, Stat, parse_rule};
use super::stats;
use crate::metrics::Summary;

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
    /// The change's interval at `confidence`, in the rule's unit.
    #[serde(default)]
    pub interval: Option<[f64; 2]>,
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// The run-to-run spread of the statistic learned from the baseline's runs, ±%;
    /// `None` when they were too few to learn it.
    #[serde(default)]
    pub noise: Option<f64>,
    /// Runs the baseline is made of.
    #[serde(default = "one")]
    pub baseline_runs: u32,
    /// The smallest change (in the rule's unit) this comparison could tell from none.
    #[serde(default)]
    pub detectable: Option<f64>,
    /// True when the whole interval went past the rule's limit.
    pub breached: bool,
    /// Why the evidence could not decide (too few samples, an interval on both sides of
    /// the limit): a warning, not a failure.
    #[serde(alias = "skipped")]
    pub inconclusive: Option<String>,
}

fn default_confidence() -> f64 {
    DEFAULT_CONFIDENCE
}

fn one() -> u32 {
    1
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

    /// `✗ fail: p(95) +20% [overall] baseline 100ms → 130ms: +30.0% (95% CI
    /// +24.1..+36.2%; noise ±6.0% over 8 runs)`; an inconclusive rule says why.
    pub fn line(&self) -> String {
        let mark = match (self.breached, self.level, &self.inconclusive) {
            (_, _, Some(_)) => '?',
            (false, _, None) => '✓',
            (true, Level::Fail, None) => '✗',
            (true, Level::Warn, None) => '!',
        };
        let mut line = format!("{mark} {} [{}]", self.rule, self.scope);
        if let (Some(b), Some(c)) = (self.baseline, self.current) {
            line.push_str(&format!(" baseline {} → {}", self.value(b), self.value(c)));
        }
        let change = self.change_text();
        if !change.is_empty() {
            line.push_str(": ");
            line.push_str(&change);
        }
        line
    }

    /// The rule's unit: `pp` for error-rate points, else `%`.
    pub fn unit(&self) -> &'static str {
        if self.rule.contains("pp") { "pp" } else { "%" }
    }

    /// `+30.0% (95% CI +24.1..+36.2%; noise ±6.0% over 8 runs)`, then why the rule is
    /// inconclusive, if it is.
    pub fn change_text(&self) -> String {
        let unit = self.unit();
        let mut t = match (self.change, self.interval) {
            (Some(d), Some([lo, hi])) => format!(
                "{d:+.1}{unit} ({:.0}% CI {lo:+.1}..{hi:+.1}{unit}; {})",
                self.confidence * 100.0,
                self.noise_text()
            ),
            (Some(d), None) => format!("{d:+.1}{unit}"),
            _ => String::new(),
        };
        if let Some(why) = &self.inconclusive {
            if !t.is_empty() {
                t.push_str(": ");
            }
            t.push_str("inconclusive, ");
            t.push_str(why);
        }
        t
    }

    /// `noise ±6.0% over 8 runs`, or why it is not known.
    pub fn noise_text(&self) -> String {
        if self.rule.contains("error_rate") {
            // Proportions: the runs' requests and failures are counted together.
            return format!(
                "pooled over {} baseline run{}",
                self.baseline_runs,
                if self.baseline_runs == 1 { "" } else { "s" }
            );
        }
        match self.noise {
            Some(n) => format!("noise ±{n:.1}% over {} runs", self.baseline_runs),
            None => format!(
                "run-to-run noise unknown from {} baseline run{}",
                self.baseline_runs,
                if self.baseline_runs == 1 { "" } else { "s" }
            ),
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

/// The plain value of a statistic on one side (ms, a fraction, per second).
fn value(side: &Side, s: Stat) -> Option<f64> {
    Some(match s {
        Stat::P(p) => side.duration.trend().ok()?.percentile(p) as f64 / 1000.0,
        Stat::Avg => side.duration.avg,
        Stat::ErrorRate => side.failed as f64 / side.requests.max(1) as f64,
        Stat::Rps => side.rps,
    })
}

/// A statistic with its sampling spread (not for the error rate, a proportion).
fn estimate(side: &Side, s: Stat) -> Option<stats::Estimate> {
    let n = side.requests;
    match s {
        Stat::P(p) => stats::quantile(&side.duration.trend().ok()?, p),
        Stat::Avg => {
            let t = side.duration.trend().ok()?;
            (t.mean() > 0.0).then(|| stats::Estimate {
                value: t.mean(),
                // The mean's standard error, relative: the log scale's SD.
                log_sd: t.stdev() / t.mean() / (t.count().max(1) as f64).sqrt(),
                n: t.count(),
            })
        }
        // Arrivals of requests counted over the run: Poisson-like.
        Stat::Rps => (side.rps > 0.0).then(|| stats::Estimate {
            value: side.rps,
            log_sd: 1.0 / (n.max(1) as f64).sqrt(),
            n,
        }),
        Stat::ErrorRate => None,
    }
}

/// Judges `rule` on `cur` against the baseline's runs `history` (each with enough
/// requests): with two or more, their spread is the run-to-run noise the interval allows.
fn judge(rule: &Rule, scope: &str, history: &[Side], cur: &Side, min: u64) -> RuleResult {
    let usable: Vec<&Side> = history.iter().filter(|b| b.requests >= min).collect();
    let geomean = |vals: &[f64]| -> Option<f64> {
        let v: Vec<f64> = vals.iter().copied().filter(|v| *v > 0.0).collect();
        (v.len() == vals.len() && !v.is_empty())
            .then(|| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
    };
    let base_values: Vec<f64> = usable.iter().filter_map(|b| value(b, rule.stat)).collect();
    let mut r = RuleResult {
        rule: rule.source.clone(),
        level: rule.level,
        scope: scope.to_string(),
        baseline: match rule.stat {
            Stat::ErrorRate => {
                let (f, n) = usable
                    .iter()
                    .fold((0, 0), |(f, n), b| (f + b.failed, n + b.requests));
                (n > 0).then(|| f as f64 / n as f64)
            }
            _ => geomean(&base_values).or(base_values.first().copied()),
        },
        current: value(cur, rule.stat),
        change: None,
        interval: None,
        confidence: rule.confidence,
        noise: None,
        baseline_runs: usable.len() as u32,
        detectable: None,
        breached: false,
        inconclusive: None,
    };
    if usable.is_empty() || cur.requests < min {
        let base = history.iter().map(|b| b.requests).max().unwrap_or(0);
        r.inconclusive = Some(format!(
            "{base} baseline and {} current requests, {min} needed on each side",
            cur.requests
        ));
        return r;
    }
    let (iv, limit) = match (rule.stat, rule.change) {
        (Stat::ErrorRate, change) => {
            // The baseline's runs pooled: their failures over their requests.
            let (bf, bn) = usable
                .iter()
                .fold((0, 0), |(f, n), b| (f + b.failed, n + b.requests));
            let pp = stats::proportion_change(bf, bn, cur.failed, cur.requests, rule.confidence);
            match change {
                Change::Points(limit) => (pp, limit),
                // Relative to the baseline's rate.
                Change::Percent(limit) => {
                    let b = bf as f64 / bn as f64 * 100.0;
                    if b == 0.0 {
                        r.inconclusive =
                            Some("the baseline had no failures, so no relative change".into());
                        return r;
                    }
                    let rel = |x: f64| x / b * 100.0;
                    let iv = stats::Interval {
                        lo: rel(pp.lo),
                        est: rel(pp.est),
                        hi: rel(pp.hi),
                    };
                    (iv, limit)
                }
            }
        }
        (stat, Change::Percent(limit)) => {
            let runs: Option<Vec<stats::Estimate>> =
                usable.iter().map(|b| estimate(b, stat)).collect();
            let (Some(runs), Some(c)) = (runs, estimate(cur, stat)) else {
                r.inconclusive = Some("the statistic is 0 or could not be read".into());
                return r;
            };
            let (b, noise) = stats::baseline(&runs).expect("at least one run");
            r.noise = noise.map(|n| (n.log_sd.exp() - 1.0) * 100.0);
            r.detectable = Some(stats::detectable(&b, &c, noise, rule.confidence));
            (
                stats::relative_change(&b, &c, noise, rule.confidence),
                limit,
            )
        }
        (_, Change::Points(_)) => unreachable!("parse_rule allows pp for error_rate only"),
    };
    r.change = Some(iv.est);
    r.interval = Some([iv.lo, iv.hi]);
    match stats::decide(&iv, limit) {
        stats::Decision::Past => r.breached = true,
        stats::Decision::Within => {}
        stats::Decision::Inconclusive => {
            let unit = if matches!(rule.change, Change::Points(_)) {
                "pp"
            } else {
                "%"
            };
            r.inconclusive = Some(format!(
                "the interval reaches both sides of {limit:+}{unit}{}",
                r.detectable
                    .map(|d| format!("; this run could tell changes beyond ±{d:.1}% from none"))
                    .unwrap_or_default()
            ));
        }
    }
    r
}

/// Applies every rule overall and to each request name of the current run, against
/// the baseline's runs (`history`: one earlier summary, or several, whose spread is the
/// noise a rule allows for).
pub fn compare(
    rules: &[Rule],
    history: &[Summary],
    cur: &Summary,
    min_samples: u64,
) -> Vec<RuleResult> {
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
        let all: Vec<Side> = history.iter().map(overall).collect();
        out.push(judge(rule, "overall", &all, &overall(cur), min_samples));
        for e in &cur.endpoints {
            let named: Vec<Side> = history
                .iter()
                .filter_map(|h| h.endpoints.iter().find(|b| b.name == e.name))
                .map(side)
                .collect();
            if named.is_empty() {
                continue;
            }
            out.push(judge(rule, &e.name, &named, &side(e), min_samples));
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

    /// A run of requests to `GET /a`, each (duration in µs, status).
    fn summary(samples: impl Iterator<Item = (u64, u16)>) -> Summary {
        let names = Arc::new(Names::new(10));
        let a = names.intern("GET /a");
        let mut agg = Aggregator::new(names);
        for (duration_us, status) in samples {
            agg.add(&Event::Request(RequestSample {
                verdict: Default::default(),
                method: Default::default(),
                tags: None,
                trace: None,
                name: a,
                status,
                error: None,
                at_ms: 0,
                duration_us,
                waiting_us: 0,
                connecting_us: 0,
                tls_us: 0,
                bytes_sent: 0,
                bytes_received: 0,
            }));
        }
        agg.summary(RunMeta::for_tests(10.0))
    }

    fn run(ms: u64, failures: u64, n: u64) -> Summary {
        summary((0..n).map(|i| (ms * 1000, if i < failures { 500 } else { 200 })))
    }

    #[test]
    fn a_slower_run_breaches_and_a_similar_one_does_not() {
        let rules: Vec<Rule> = DEFAULT_RULES
            .iter()
            .map(|r| parse_rule(r).unwrap())
            .collect();
        let base = run(100, 0, 200);
        let same = compare(&rules, std::slice::from_ref(&base), &run(105, 0, 200), 100);
        assert!(!regressed(&same), "{same:#?}");
        let slow = compare(&rules, std::slice::from_ref(&base), &run(130, 0, 200), 100);
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
        // Error rate: 0 → 2% is +2pp, surely past the 0.5pp rule over 2000 requests...
        let base = run(100, 0, 2000);
        let errs = compare(
            &rules,
            std::slice::from_ref(&base),
            &run(100, 40, 2000),
            100,
        );
        let e = errs.iter().find(|r| r.rule.contains("error_rate")).unwrap();
        assert!(e.breached && e.inconclusive.is_none(), "{e:?}");
        // ...while 0 → 0.5% over 200 (one failure) cannot tell +0.5pp from noise.
        let errs = compare(
            &rules,
            std::slice::from_ref(&run(100, 0, 200)),
            &run(100, 1, 200),
            100,
        );
        let e = errs.iter().find(|r| r.rule.contains("error_rate")).unwrap();
        assert!(!e.breached && e.inconclusive.is_some(), "{e:?}");
        assert!(
            e.line()
                .contains("inconclusive, the interval reaches both sides of +0.5pp"),
            "{}",
            e.line()
        );
    }

    /// A run whose request durations are log-normal around `median` ms.
    fn spread_run(seed: u64, median: f64, n: u64) -> Summary {
        let mut rng = fastrand::Rng::with_seed(seed);
        summary((0..n).map(|_| {
            let (u1, u2) = (rng.f64().max(1e-12), rng.f64());
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            ((median * 1000.0 * (0.5 * z).exp()) as u64, 200)
        }))
    }

    #[test]
    fn rules_fail_only_on_a_change_the_histograms_can_tell_from_noise() {
        let rule = vec![parse_rule("fail: p(95) +20%").unwrap()];
        let overall = |r: Vec<RuleResult>| r.into_iter().find(|r| r.scope == "overall").unwrap();
        // 40% slower over 5000 requests a side: past +20% at 95%.
        let r = overall(compare(
            &rule,
            &[spread_run(1, 50.0, 5000)],
            &spread_run(2, 70.0, 5000),
            100,
        ));
        assert!(r.breached && r.inconclusive.is_none(), "{}", r.line());
        let [lo, hi] = r.interval.unwrap();
        assert!(lo > 20.0 && lo < 40.0 && hi > 40.0, "{}", r.line());
        assert!(
            r.line().contains("(95% CI +")
                && r.line().contains("noise unknown from 1 baseline run"),
            "{}",
            r.line()
        );
        // The same build: within.
        let r = overall(compare(
            &rule,
            &[spread_run(3, 50.0, 5000)],
            &spread_run(4, 50.0, 5000),
            100,
        ));
        assert!(!r.breached && r.inconclusive.is_none(), "{}", r.line());
        // 25% slower over 150 requests a side: the p95 cannot be pinned down that well.
        let r = overall(compare(
            &rule,
            &[spread_run(5, 50.0, 150)],
            &spread_run(6, 62.5, 150),
            100,
        ));
        assert!(!r.breached, "{}", r.line());
        let why = r.inconclusive.as_deref().unwrap();
        assert!(
            why.contains("this run could tell changes beyond ±"),
            "{why}"
        );
        // A history of runs: their spread is the noise allowed for, and said. Eight runs
        // of one build whose p95 wanders ±10% from run to run: a 15% slower run is not a
        // sure regression against the history, though it would be against one run.
        let mut rng = fastrand::Rng::with_seed(9);
        let history: Vec<Summary> = (0..8)
            .map(|i| spread_run(100 + i, 50.0 * (1.0 + 0.1 * (rng.f64() * 2.0 - 1.0)), 5000))
            .collect();
        let slower = spread_run(200, 50.0 * 1.15, 5000);
        let r = overall(compare(&rule, &history, &slower, 100));
        assert_eq!(r.baseline_runs, 8);
        let noise = r.noise.unwrap();
        assert!((2.0..15.0).contains(&noise), "{noise}");
        assert!(r.line().contains("over 8 runs"), "{}", r.line());
        let one = overall(compare(&rule, &history[..1], &slower, 100));
        let (w_hist, w_one) = (r.interval.unwrap(), one.interval.unwrap());
        assert!(
            w_hist[1] - w_hist[0] > w_one[1] - w_one[0],
            "{w_hist:?} vs {w_one:?}"
        );
        // A stricter confidence is a wider interval.
        let sure = vec![parse_rule("fail: p(95) +20% @99.9%").unwrap()];
        let (b, c) = (spread_run(7, 50.0, 3000), spread_run(8, 65.0, 3000));
        let (w95, w999) = (
            overall(compare(&rule, std::slice::from_ref(&b), &c, 100))
                .interval
                .unwrap(),
            overall(compare(&sure, std::slice::from_ref(&b), &c, 100))
                .interval
                .unwrap(),
        );
        assert!(w999[1] - w999[0] > w95[1] - w95[0]);
        assert!(
            parse_rule("fail: p(95) +20% @100%")
                .unwrap_err()
                .contains("@N%")
        );
    }

    #[test]
    fn too_few_samples_leave_the_rule_inconclusive() {
        let rules = vec![parse_rule("fail: p(95) +20%").unwrap()];
        let r = compare(
            &rules,
            std::slice::from_ref(&run(100, 0, 50)),
            &run(500, 0, 50),
            100,
        );
        assert!(!regressed(&r));
        assert!(
            r[0].inconclusive
                .as_deref()
                .unwrap()
                .contains("100 needed on each side")
        );
    }
}
