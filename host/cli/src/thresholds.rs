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
    let replaced = |t: &Threshold| flags.iter().any(|f| f.metric == t.metric && f.tag == t.tag);
    let in_file = |t: &Threshold| {
        file.thresholds
            .iter()
            .flat_map(|s| &s.parsed)
            .any(|f| f.metric == t.metric && f.tag == t.tag)
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
    let owned = |t: (&str, &str)| (t.0.to_string(), t.1.to_string());
    let requests: Vec<_> = thresholds
        .iter()
        .filter_map(|t| t.request_tag())
        .map(owned)
        .collect();
    let checks: Vec<_> = thresholds
        .iter()
        .filter_map(|t| t.check_tag())
        .map(owned)
        .collect();
    for cfg in cfgs {
        cfg.request_tags = requests.clone();
        cfg.check_tags = checks.clone();
    }
}
