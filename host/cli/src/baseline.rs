//! Comparing with known-good runs from the command line: the `--baseline*` flags of
//! `run` and `merge`, `stampede compare`, and `stampede baseline add|list|prune` over
//! a history directory ([`crate::history`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use stampede::gate::baseline::Rule;
use stampede::gate::{Gate, Judged};
use stampede::metrics::Summary;

use crate::exit;
use crate::history::{DEFAULT_KEEP, DEFAULT_LABEL, History};

/// Comparison with known-good runs.
#[derive(Args, Debug, Clone, Default)]
pub struct BaselineArgs {
    /// A previous run's `--summary-json` to compare with, e.g. `--baseline main.json`;
    /// repeated, the runs of one build, whose spread is the run-to-run noise the rules
    /// allow for (`--baseline a.json --baseline b.json --baseline c.json`).
    #[arg(long)]
    pub baseline: Vec<PathBuf>,
    /// A history of accepted runs to compare with, e.g. `--baseline-dir .stampede/baselines`
    /// (a folder CI caches): the runs stored under `--baseline-label` and this run's
    /// config fingerprint. With none stored yet, the run is not compared and says so.
    #[arg(long, value_name = "DIR", conflicts_with = "baseline")]
    pub baseline_dir: Option<PathBuf>,
    /// Which runs of `--baseline-dir` are the reference, e.g. `--baseline-label main`
    /// (default "default").
    #[arg(long, value_name = "LABEL")]
    pub baseline_label: Option<String>,
    /// Runs of the history kept per key and compared with (default 10).
    #[arg(long, value_name = "N")]
    pub baseline_keep: Option<usize>,
    /// Add this run to `--baseline-dir` when it passes its gate (e.g. on the main branch).
    #[arg(long)]
    pub baseline_accept: bool,
    /// A comparison rule (repeatable), e.g. `--baseline-rule 'fail: p(95) +20%'`,
    /// `'fail: error_rate +0.5pp'`, `'warn: rps -15%'` (those three are the default).
    #[arg(long = "baseline-rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Requests needed on both sides before a rule applies (guards against noise;
    /// default 100).
    #[arg(long)]
    pub baseline_min_samples: Option<u64>,
    /// With no threshold set, pass a run even if requests or iterations failed (by
    /// default such a run fails, as Locust's does; `allow_failures = true` in the config).
    #[arg(long)]
    pub allow_failures: bool,
}

/// Parses `--baseline-rule`s (or `--rule`s of `compare`); none given means the defaults.
pub fn parse_rules(flag: &str, texts: &[String]) -> Result<Vec<Rule>> {
    let texts: Vec<&str> = if texts.is_empty() {
        stampede::gate::baseline::DEFAULT_RULES.to_vec()
    } else {
        texts.iter().map(String::as_str).collect()
    };
    texts
        .iter()
        .map(|t| {
            stampede::gate::baseline::parse_rule(t).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
        })
        .collect()
}

pub fn read_summary(flag: &str, path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag} {}: cannot read", path.display()))?;
    stampede::gate::Judged::from_json(&text)
        .map(|j| j.summary)
        .map_err(|e| {
            anyhow::anyhow!(
                "{flag} {}: not a stampede summary ({e}); pass a file written by --summary-json",
                path.display()
            )
        })
}

/// A run's use of a history directory: where its baseline comes from once its
/// fingerprint is known, and whether a passing run joins it.
#[derive(Debug, Clone)]
pub struct UseHistory {
    pub store: History,
    pub keep: usize,
    pub accept: bool,
}

impl UseHistory {
    /// Puts the stored runs of this run's key into the gate; with none, the run is not
    /// compared and its summary says why.
    pub fn fill(&self, summary: &mut Summary, gate: &mut Gate) -> Result<()> {
        let runs = self.store.load(&summary.fingerprint, self.keep)?;
        if runs.is_empty() {
            let others = self.store.keys(false)?.len();
            summary.warnings.push(format!(
                "baseline: no accepted run yet in {} for this label and config; this run was not compared{} (add runs with --baseline-accept or `stampede baseline add`)",
                self.store.key_dir(&summary.fingerprint).display(),
                if others > 0 {
                    format!(" ({others} other key(s) there: `stampede baseline list`)")
                } else {
                    String::new()
                }
            ));
            gate.baseline = None;
        } else if let Some(b) = gate.baseline.as_mut() {
            b.history = runs.into_iter().map(|r| r.summary).collect();
        }
        Ok(())
    }

    /// Stores the run when `--baseline-accept` is on and it passed.
    pub fn accept_if_passed(&self, judged: &Judged) -> Result<()> {
        let passed = judged
            .verdict
            .as_ref()
            .is_some_and(|v| v.exit_code == exit::PASSED);
        if !self.accept {
            return Ok(());
        }
        if !passed {
            eprintln!(
                "stampede: baseline: this run did not pass, so it was not added to the history"
            );
            return Ok(());
        }
        let (path, removed) = self
            .store
            .add(&judged.summary, &judged.to_json(), self.keep)?;
        eprintln!(
            "stampede: baseline: added {}{}",
            path.display(),
            if removed.is_empty() {
                String::new()
            } else {
                format!(" ({} older run(s) pruned)", removed.len())
            }
        );
        Ok(())
    }
}

/// `stampede compare`: baseline rules on finished runs, no load.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The known-good runs, then the run to judge: `compare main.json pr.json`, or
    /// several baselines (`compare a.json b.json c.json pr.json`) whose spread is the
    /// noise; a folder stands for the summaries in it (a history key's folder).
    #[arg(required = true, value_name = "SUMMARY")]
    pub summaries: Vec<PathBuf>,
    /// Take the baseline from a history directory instead: the runs under `--label`
    /// and the current run's fingerprint; then only the current run is given.
    #[arg(long, value_name = "DIR")]
    pub baseline_dir: Option<PathBuf>,
    /// The history's label.
    #[arg(long, default_value = DEFAULT_LABEL)]
    pub label: String,
    /// Runs of the history compared with.
    #[arg(long, default_value_t = DEFAULT_KEEP)]
    pub keep: usize,
    /// A comparison rule (repeatable); default: the three of `run --baseline-rule`.
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Requests needed on both sides before a rule applies.
    #[arg(long, default_value_t = stampede::gate::baseline::DEFAULT_MIN_SAMPLES)]
    pub min_samples: u64,
}

/// Summary files named on the command line, a folder standing for its `*.json`.
fn summary_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let inside = crate::history::runs_in(p)?;
            if inside.is_empty() {
                bail!("{}: no summary (*.json) in this folder", p.display());
            }
            out.extend(inside);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn compare(args: &CompareArgs) -> Result<u8> {
    let (current, bases) = args.summaries.split_last().expect("clap requires one");
    let cur = read_summary("current", current)?;
    let (history, from): (Vec<Summary>, String) = match &args.baseline_dir {
        Some(dir) => {
            if !bases.is_empty() {
                bail!("with --baseline-dir, give only the current run's summary");
            }
            let store = History::new(dir.clone(), &args.label)?;
            let runs = store.load(&cur.fingerprint, args.keep)?;
            if runs.is_empty() {
                bail!(
                    "--baseline-dir {}: no run stored for label {:?} and this run's config (see `stampede baseline list {}`)",
                    dir.display(),
                    store.label,
                    dir.display()
                );
            }
            let from = store.key_dir(&cur.fingerprint).display().to_string();
            (runs.into_iter().map(|r| r.summary).collect(), from)
        }
        None => {
            if bases.is_empty() {
                bail!(
                    "give a baseline and a current summary, e.g. `stampede compare main.json pr.json`"
                );
            }
            let files = summary_files(bases)?;
            let runs = files
                .iter()
                .map(|f| read_summary("baseline", f))
                .collect::<Result<Vec<_>>>()?;
            let from = match files.as_slice() {
                [one] => one.display().to_string(),
                many => format!("{} runs", many.len()),
            };
            (runs, from)
        }
    };
    let rules = parse_rules("--rule", &args.rules)?;
    let results = stampede::gate::baseline::compare(&rules, &history, &cur, args.min_samples);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "baseline {from} ({} requests) vs current {} ({} requests):",
        history.iter().map(|h| h.totals.http_reqs).sum::<u64>(),
        current.display(),
        cur.totals.http_reqs
    )?;
    for r in &results {
        writeln!(out, "  {}", r.line())?;
    }
    let regressed = stampede::gate::baseline::regressed(&results);
    writeln!(
        out,
        "verdict: {}",
        if regressed {
            "REGRESSION"
        } else {
            "no regression"
        }
    )?;
    Ok(if regressed {
        exit::BASELINE_REGRESSION
    } else {
        exit::PASSED
    })
}

/// `stampede baseline`: a history directory's runs.
#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: HistoryAction,
}

#[derive(Subcommand, Debug, Clone)]
pub enum HistoryAction {
    /// Add runs' summaries (from `--summary-json`) to a history, each under its config
    /// fingerprint, e.g. `stampede baseline add .stampede/baselines out.json --label main`.
    Add {
        dir: PathBuf,
        #[arg(required = true, value_name = "SUMMARY")]
        summaries: Vec<PathBuf>,
        #[arg(long, default_value = DEFAULT_LABEL)]
        label: String,
        /// Runs kept per key; older ones are removed.
        #[arg(long, default_value_t = DEFAULT_KEEP)]
        keep: usize,
    },
    /// List a history's keys (label and fingerprint) with their runs.
    List {
        dir: PathBuf,
        /// Only this label's keys.
        #[arg(long)]
        label: Option<String>,
    },
    /// Keep only the newest runs of each key.
    Prune {
        dir: PathBuf,
        #[arg(long, default_value_t = DEFAULT_KEEP)]
        keep: usize,
        /// Only this label's keys.
        #[arg(long)]
        label: Option<String>,
    },
}

fn when(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

pub fn history(args: &HistoryArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match &args.action {
        HistoryAction::Add {
            dir,
            summaries,
            label,
            keep,
        } => {
            let store = History::new(dir.clone(), label)?;
            for f in summaries {
                let json = std::fs::read_to_string(f)
                    .map_err(|e| anyhow::anyhow!("{}: cannot read ({e})", f.display()))?;
                let summary = read_summary("baseline add", f)?;
                let (path, removed) = store.add(&summary, &json, *keep)?;
                writeln!(out, "added {}", path.display())?;
                for r in removed {
                    writeln!(out, "pruned {}", r.display())?;
                }
            }
        }
        HistoryAction::List { dir, label } => {
            let store = History::new(dir.clone(), label.as_deref().unwrap_or(DEFAULT_LABEL))?;
            let keys = store.keys(label.is_some())?;
            if keys.is_empty() {
                writeln!(out, "{}: no stored runs", dir.display())?;
            }
            for k in keys {
                writeln!(
                    out,
                    "{}@{}  {} run(s)  {}",
                    k.label,
                    k.fingerprint,
                    k.runs.len(),
                    k.dir.display()
                )?;
                for r in &k.runs {
                    writeln!(out, "  {}", describe(r))?;
                }
            }
        }
        HistoryAction::Prune { dir, keep, label } => {
            let store = History::new(dir.clone(), label.as_deref().unwrap_or(DEFAULT_LABEL))?;
            let removed = store.prune(*keep, label.is_some())?;
            for r in &removed {
                writeln!(out, "pruned {}", r.display())?;
            }
            writeln!(
                out,
                "{} run(s) removed, at most {keep} kept per key",
                removed.len()
            )?;
        }
    }
    Ok(exit::PASSED)
}

/// One stored run in a line: when, what, how much, how fast.
fn describe(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    match read_summary("baseline list", path) {
        Ok(s) => format!(
            "{name}  {}  {}  {} requests  p(95) {:.2} ms  failed {:.2}%",
            when(s.started_at_ms),
            s.scenario.name,
            s.totals.http_reqs,
            s.http_req_duration.p95,
            s.totals.http_req_failed as f64 * 100.0 / s.totals.http_reqs.max(1) as f64
        ),
        Err(e) => format!("{name}  unreadable: {e:#}"),
    }
}
