//! The summaries of one run's segments (`--segment I/N` in several processes) merged
//! into the run's one summary, once they are shown to be the same run's, each once.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use super::Summary;

/// Merges segment summaries, refusing mixed runs, duplicates and (unless allowed)
/// gaps.
pub fn merge_segments(parts: Vec<(String, Summary)>, allow_partial: bool) -> Result<Summary> {
    let Some((first_src, first)) = parts.first() else {
        bail!("no summaries to merge");
    };
    let count = match first.segment {
        Some(s) => s.count,
        None => {
            bail!("{first_src}: not a segment's summary (run with --segment I/N or --segments N)")
        }
    };
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for (src, s) in &parts {
        let Some(seg) = s.segment else {
            bail!("{src}: not a segment's summary (run with --segment I/N or --segments N)");
        };
        if s.fingerprint != first.fingerprint || seg.count != count {
            bail!(
                "{src}: from a different run than {first_src} (other scenario version, plan or segment count); merge only the segments of one run"
            );
        }
        if let Some(other) = seen.insert(seg.index, src) {
            bail!(
                "segment {}/{count} appears twice: {other} and {src}",
                seg.index
            );
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() && !allow_partial {
        bail!(
            "segments {} missing; pass every segment's summary (or --allow-partial)",
            missing.join(", ")
        );
    }
    let summaries: Vec<Summary> = parts.into_iter().map(|(_, s)| s).collect();
    let mut merged = if summaries[0].scenarios.is_empty() {
        super::merge::merge(&summaries)
    } else {
        // Each scenario across the segments, then the scenarios into the run.
        let mut by_name: BTreeMap<String, Vec<Summary>> = BTreeMap::new();
        for s in &summaries {
            for p in &s.scenarios {
                by_name
                    .entry(p.scenario.name.clone())
                    .or_default()
                    .push(p.clone());
            }
        }
        let parts = by_name
            .into_values()
            .map(|ps| {
                let mut m = super::merge::merge(&ps);
                m.segment = None;
                m
            })
            .collect();
        super::merge::scenarios(parts)
    };
    merged.segment = None;
    merged.fingerprint = summaries[0].fingerprint.clone();
    if !missing.is_empty() {
        merged.warnings.push(format!(
            "partial merge: segments {} missing",
            missing.join(", ")
        ));
    }
    Ok(merged)
}
