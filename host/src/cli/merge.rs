//! `stampede merge`: the summaries of a run's segments into the run's one summary,
//! judged and reported as `run` would have.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{BaselineArgs, OutputArgs, resolve};
use crate::config::{self, FileConfig};
use crate::metrics::Summary;

/// Marks a summary inside a log (`--summary-json -` prints it so), so pod logs can
/// carry it to `stampede merge`.
pub const BEGIN: &str = "-----BEGIN STAMPEDE SUMMARY-----";
pub const END: &str = "-----END STAMPEDE SUMMARY-----";

#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// Segment summaries: `--summary-json` files, or logs holding summaries printed
    /// with `--summary-json -` (e.g. `kubectl logs` of every pod).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The run's config: its thresholds, baseline and outputs apply to the merged run.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A threshold, as for `run` (repeatable).
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// Merge even when some segments are missing (the figures then cover only those
    /// present, and the summary says so).
    #[arg(long)]
    pub allow_partial: bool,
}

/// Every summary in `text`: the file itself, or each marked block of a log.
fn summaries_in(source: &Path, text: &str) -> Result<Vec<Summary>> {
    let parse = |t: &str| {
        crate::gate::Judged::from_json(t)
            .map(|j| j.summary)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a stampede summary ({e}); pass files written by --summary-json",
                    source.display()
                )
            })
    };
    if !text.contains(BEGIN) {
        return Ok(vec![parse(text)?]);
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else {
            bail!(
                "{}: a summary starts but never ends (a log cut short?)",
                source.display()
            );
        };
        out.push(parse(&after[..end])?);
        rest = &after[end + END.len()..];
    }
    Ok(out)
}

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
        crate::metrics::merge::merge(&summaries)
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
                let mut m = crate::metrics::merge::merge(&ps);
                m.segment = None;
                m
            })
            .collect();
        crate::metrics::merge::scenarios(parts)
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

pub fn run(args: &MergeArgs) -> Result<u8> {
    let mut parts = Vec::new();
    for f in &args.files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        for (i, s) in summaries_in(f, &text)?.into_iter().enumerate() {
            parts.push((format!("{} (summary {})", f.display(), i + 1), s));
        }
    }
    let merged = merge_segments(parts, args.allow_partial)?;
    let file = match &args.config {
        Some(p) => config::load(p)?.config,
        None => FileConfig::default(),
    };
    let (thresholds, _) = resolve::gate(&file, &args.thresholds)?;
    let gate = crate::gate::Gate {
        thresholds,
        allow_failures: args.baseline.allow_failures || file.allow_failures,
        baseline: resolve::baseline(&args.baseline, file.baseline)?,
    };
    let outputs = resolve::outputs(&args.outputs, file.outputs);
    super::finish(merged, &gate, &outputs)
}
