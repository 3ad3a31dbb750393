//! The run's thresholds: the script's, the file's and the flags' layered into one list,
//! the rules that abort a run, and what each scenario must keep apart to judge them.

use anyhow::Result;

use crate::config::{FileConfig, ThresholdSpec};
use stampede::gate::{AbortRule, Threshold};
use stampede::run::RunConfig;

/// The thresholds to judge by, and those that abort: a flag replaces the file's
/// thresholds on the same metric and tag.
pub fn gate(
    file: &FileConfig,
    flags: &[String],
    script: &[ThresholdSpec],
) -> Result<(Vec<Threshold>, Vec<AbortRule>)> {
    let flags = crate::parse_thresholds(flags)?;
    let replaced = |t: &Threshold| flags.iter().any(|f| same_filter(f, t));
    let in_file = |t: &Threshold| {
        file.thresholds
            .iter()
            .flat_map(|s| &s.parsed)
            .any(|f| same_filter(f, t))
    };
    let mut thresholds = Vec::new();
    let mut aborts = Vec::new();
    // The script's (k6 options) under the file's, the file's under the flags.
    let script = script.iter().map(|s| (s, true));
    for (spec, from_script) in script.chain(file.thresholds.iter().map(|s| (s, false))) {
        for t in spec
            .parsed
            .iter()
            .filter(|t| !(replaced(t) || (from_script && in_file(t))))
        {
            thresholds.push(t.clone());
            if let Some(a) = spec.abort {
                aborts.push(AbortRule {
                    threshold: t.clone(),
                    delay: a.delay,
                });
            }
        }
    }
    thresholds.extend(flags);
    Ok((thresholds, aborts))
}

/// A scenario's abort rules: its own without the tag, and the untagged ones (judged on
/// its own figures: an abort anywhere stops the whole run).
pub(crate) fn aborts_of(rules: &[AbortRule], name: &str) -> Vec<AbortRule> {
    let mut out = Vec::new();
    for r in rules {
        // A filter of several pairs naming a scenario is that scenario's, kept whole:
        // its aggregator matches the scenario's name like any tag.
        if !r.threshold.more_tags.is_empty() {
            let scenario = r
                .threshold
                .tag
                .iter()
                .chain(&r.threshold.more_tags)
                .find(|(k, _)| k == "scenario");
            if scenario.is_none_or(|(_, v)| v == name) {
                out.push(r.clone());
            }
            continue;
        }
        match &r.threshold.tag {
            Some((k, v)) if k == "scenario" && v == name => out.push(AbortRule {
                threshold: Threshold {
                    tag: None,
                    ..r.threshold.clone()
                },
                delay: r.delay,
            }),
            Some((k, _)) if k == "scenario" => {}
            _ => out.push(r.clone()),
        }
    }
    out
}

/// Each scenario keeps apart the requests and checks carrying a tag a threshold filters
/// by (`http_req_duration{type:API}`, `checks{myTag:x}`), and only those.
pub fn keep_tags(thresholds: &[Threshold], cfgs: &mut [RunConfig]) {
    let requests: Vec<_> = thresholds.iter().filter_map(|t| t.request_tags()).collect();
    let checks: Vec<_> = thresholds.iter().filter_map(|t| t.check_tags()).collect();
    for cfg in cfgs {
        cfg.request_tags = requests.clone();
        cfg.check_tags = checks.clone();
    }
}

/// Whether two thresholds judge the same metric of the same records (a flag's then
/// replaces the file's or the script's).
fn same_filter(a: &Threshold, b: &Threshold) -> bool {
    a.metric == b.metric && a.tag == b.tag && a.more_tags == b.more_tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_rules_go_to_the_scenario_they_name() {
        let rule = |e: &str| AbortRule {
            threshold: stampede::gate::parse(e).unwrap().remove(0),
            delay: Default::default(),
        };
        let rules = [
            rule("http_req_failed{scenario:pay}: rate<0.1"),
            rule("http_reqs{type:API,scenario:pay}: count<5"),
            rule("http_req_failed: rate<0.5"),
        ];
        let (pay, browse) = (aborts_of(&rules, "pay"), aborts_of(&rules, "browse"));
        assert_eq!((pay.len(), browse.len()), (3, 1));
        assert_eq!(pay[0].threshold.tag, None, "its own, judged on its figures");
        assert_eq!(
            pay[1].threshold, rules[1].threshold,
            "several pairs: kept whole"
        );
        assert_eq!(browse[0].threshold, rules[2].threshold);
    }
}
