//! The end of a run: one verdict, and every report of it (files first, then the
//! console), the history updated, a k6 script's handleSummary asked; its exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stampede::gate::Gate;
use stampede::metrics::Summary;
use stampede::run;

use crate::{OutputArgs, baseline, exit, k6_summary, merge};

fn write_file(
    flag: &str,
    path: &Path,
    f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    f(&mut buf)?;
    std::fs::write(path, buf).with_context(|| format!("{flag} {}: cannot write", path.display()))
}

/// Judges the run once (against its history, when it has one), writes every report of
/// that one verdict, adds a passing run to the history when asked, and returns its
/// exit code.
pub(crate) fn finish(
    mut summary: Summary,
    mut gate: Gate,
    outputs: &OutputArgs,
    history: Option<&baseline::UseHistory>,
    script: Option<&run::RunConfig>,
) -> Result<u8> {
    // A history that cannot be read must not lose the run: it is said, and the run is
    // judged without a baseline.
    if let Some(h) = history
        && let Err(e) = h.fill(&mut summary, &mut gate)
    {
        summary.run_errors.push(format!("baseline: {e:#}"));
        gate.baseline = None;
    }
    let judged = stampede::gate::judge(summary, &gate);
    // Files first: a console that went away must not lose the reports.
    match &outputs.summary_json {
        // To stdout between markers, so a pod's log carries it to `stampede merge`.
        Some(path) if path.as_os_str() == "-" => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}\n{}\n{}",
                merge::BEGIN,
                judged.to_json(),
                merge::END
            )?;
        }
        Some(path) => write_file("--summary-json", path, |w| {
            w.write_all(judged.to_json().as_bytes())
        })?,
        None => {}
    }
    if let Some(path) = &outputs.junit {
        write_file("--junit", path, |w| {
            stampede::report::junit::write(w, &judged)
        })?;
    }
    if let Some(path) = &outputs.markdown {
        write_file("--markdown", path, |w| {
            stampede::report::markdown::write(w, &judged)
        })?;
    }
    if let Some(path) = &outputs.html {
        write_file("--html", path, |w| {
            stampede::report::html::write(w, &judged)
        })?;
    }
    if let Some(step) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut buf = Vec::new();
        stampede::report::markdown::write(&mut buf, &judged)?;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&step)
            .with_context(|| {
                format!(
                    "$GITHUB_STEP_SUMMARY {}: cannot append",
                    PathBuf::from(&step).display()
                )
            })?;
        f.write_all(&buf)?;
    }
    let mut out = std::io::stdout().lock();
    stampede::report::console::write(&mut out, &judged)?;
    out.flush()?;
    drop(out);
    if let Some(cfg) = script {
        k6_summary::handle(cfg, &judged);
    }
    if let Some(h) = history {
        h.accept_if_passed(&judged)?;
    }
    Ok(judged
        .verdict
        .as_ref()
        .map_or(exit::CONFIG_ERROR, |v| v.exit_code))
}
