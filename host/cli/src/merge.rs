//! `stampede merge`: the summaries of a run's segments into the run's one summary,
//! judged and reported as `run` would have.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::config::{self, FileConfig};
use crate::{BaselineArgs, OutputArgs, resolve};
use stampede::executor::{Load, Plan};
use stampede::metrics::Summary;
use stampede::metrics::segments::merge_segments;
use stampede::run::RunConfig;

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
    /// The run's config: its thresholds, baseline and outputs apply to the merged run;
    /// so do its scenario's own thresholds (k6's `options`), and a k6 script's
    /// `handleSummary` gets the merged figures.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A value the config's scenario reads, as the segments' `run --env` gave it
    /// (repeatable): a k6 script's options may depend on it.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
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
    let mut merged = merge_segments(parts, args.allow_partial)?;
    let file = match &args.config {
        Some(p) => config::load(p)?.config,
        None => FileConfig::default(),
    };
    // The script's own thresholds judged each segment: they judge the whole run too.
    let env = resolve::parse_env(&args.env)?;
    let script = config_script(&file, env).unwrap_or_else(|e| {
        merged.run_errors.push(format!(
            "{e:#}: its own thresholds (k6's options) were not judged"
        ));
        None
    });
    let mut own = Vec::new();
    if let Some(cfg) = &script {
        match resolve::script_options(cfg, false) {
            Ok(o) => own = o.map(|o| o.thresholds).unwrap_or_default(),
            // Judged without them the run could pass wrongly: it fails, saying why.
            Err(e) => merged.run_errors.push(format!(
                "{}: its own thresholds could not be read, so they were not judged: {e:#}",
                cfg.scenario.display()
            )),
        }
    }
    let (thresholds, _) = crate::thresholds::gate(&file, &args.thresholds, &own)?;
    let (baseline, history) = resolve::baseline(&args.baseline, file.baseline)?;
    let gate = stampede::gate::Gate {
        thresholds,
        allow_failures: args.baseline.allow_failures || file.allow_failures,
        baseline,
    };
    let outputs = resolve::outputs(&args.outputs, file.outputs);
    crate::finish(merged, gate, &outputs, history.as_ref(), script.as_ref())
}

/// The config's scenario as `run` takes it (a source built, or taken from the cache),
/// when it may state thresholds or handle the summary: a k6 script or a component.
/// A locustfile states neither.
fn config_script(file: &FileConfig, env: Vec<(String, String)>) -> Result<Option<RunConfig>> {
    let Some(path) = &file.scenario else {
        return Ok(None);
    };
    if crate::source::kind_of(path) == Some(crate::source::Kind::Python) {
        return Ok(None);
    }
    if !path.is_file() {
        bail!(
            "{}: the config's scenario is not here (merge where it is)",
            path.display()
        );
    }
    let mut cfg = RunConfig::new(path.clone(), Plan::new(1, Load::iterations(1)));
    let mut all = file.env.clone();
    all.extend(env);
    cfg.env = all.into_iter().collect();
    resolve::build_source(&mut cfg)?;
    // As `run` prepares it: the script's init code may read the config's data.
    crate::data::apply(
        std::slice::from_mut(&mut cfg),
        &crate::RunArgs::default(),
        file,
    )?;
    Ok(Some(cfg))
}
