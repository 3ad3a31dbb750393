//! `stampede merge`: the summaries of a run's segments into the run's one summary,
//! judged and reported as `run` would have.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::config::{self, FileConfig};
use crate::{BaselineArgs, OutputArgs, resolve};
use stampede::metrics::Summary;
use stampede::metrics::segments::merge_segments;

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
        stampede::gate::Judged::from_json(t)
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
    let (thresholds, _) = crate::thresholds::gate(&file, &args.thresholds, &[])?;
    let (baseline, history) = resolve::baseline(&args.baseline, file.baseline)?;
    let gate = stampede::gate::Gate {
        thresholds,
        allow_failures: args.baseline.allow_failures || file.allow_failures,
        baseline,
    };
    let outputs = resolve::outputs(&args.outputs, file.outputs);
    crate::finish(merged, gate, &outputs, history.as_ref(), None)
}
