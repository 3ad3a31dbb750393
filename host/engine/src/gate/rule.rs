//! Baseline rules as written, e.g. `fail: p(95) +20%`, `fail: error_rate +0.5pp`,
//! `warn: rps -15% @99%`: parsed apart from how they are judged ([`super::baseline`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// How sure a decision must be (0..1).
    pub confidence: f64,
}

/// A rule's confidence unless it states one.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

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
    let (Some(stat), Some(change), sure, None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err(
            "expected a statistic, a signed change and maybe a confidence, e.g. p(95) +20% @95%",
        ));
    };
    let confidence = match sure {
        None => DEFAULT_CONFIDENCE,
        Some(c) => match c
            .strip_prefix('@')
            .and_then(|c| c.strip_suffix('%'))
            .and_then(|c| c.parse::<f64>().ok())
        {
            Some(c) if (50.0..100.0).contains(&c) => c / 100.0,
            _ => {
                return Err(err(
                    "the confidence is written @N% with N from 50 to below 100, e.g. @99%",
                ));
            }
        },
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
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
