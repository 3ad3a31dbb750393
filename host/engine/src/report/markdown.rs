//! A Markdown summary for CI job pages (GitHub's `$GITHUB_STEP_SUMMARY`, merge requests).

use std::io::{self, Write};

use crate::gate::Judged;

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn write<W: Write>(w: &mut W, j: &Judged) -> io::Result<()> {
    let s = &j.summary;
    let verdict = match &j.verdict {
        Some(v) if v.passed => format!("✅ {}", v.headline),
        Some(v) => format!("❌ {}", v.headline),
        None => "not judged".into(),
    };
    writeln!(w, "## Stampede: {} — {}", cell(&s.scenario.name), verdict)?;
    writeln!(w)?;
    if let Some(v) = j.verdict.as_ref().filter(|v| !v.reasons.is_empty()) {
        for r in &v.reasons {
            writeln!(w, "- {}", r.replace('\n', " "))?;
        }
        writeln!(w)?;
    }
    let t = &s.totals;
    writeln!(
        w,
        "{} VUs max, {:.1} s, {} requests ({:.1}/s), {:.2}% failed, {} iterations ({} failed), checks {}/{} passed{}",
        s.vus_max,
        s.duration_s,
        t.http_reqs,
        t.http_reqs_rate,
        t.http_req_failed_rate * 100.0,
        t.iterations,
        t.iterations_failed,
        t.checks_passed,
        t.checks_passed + t.checks_failed,
        s.interrupted
            .as_ref()
            .or(s.aborted.as_ref())
            .map(|i| format!(" — **cut short: {i}**"))
            .unwrap_or_default()
    )?;
    if !j.thresholds.is_empty() {
        writeln!(w)?;
        writeln!(w, "| | threshold | observed |")?;
        writeln!(w, "|---|---|---|")?;
        for th in &j.thresholds {
            let observed = match (th.observed, &th.detail) {
                (Some(v), _) => format!(
                    "{}{}",
                    crate::gate::evaluate::fmt_observed(v),
                    th.unit.as_deref().unwrap_or("")
                ),
                (None, Some(d)) => d.clone(),
                (None, None) => String::new(),
            };
            writeln!(
                w,
                "| {} | `{}` | {} |",
                if th.passed { "✅" } else { "❌" },
                cell(&th.expression),
                cell(&observed)
            )?;
        }
    }
    let compared: Vec<_> = j.baseline.iter().collect();
    if !compared.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "| | baseline rule | scope | baseline | current | change |"
        )?;
        writeln!(w, "|---|---|---|---:|---:|---:|")?;
        let num = |v: Option<f64>| {
            v.map(crate::gate::evaluate::fmt_observed)
                .unwrap_or_default()
        };
        for r in compared {
            let mark = match (r.breached, r.level, &r.inconclusive) {
                (_, _, Some(_)) => "❔",
                (false, _, None) => "✅",
                (true, crate::gate::baseline::Level::Fail, None) => "❌",
                (true, crate::gate::baseline::Level::Warn, None) => "⚠️",
            };
            writeln!(
                w,
                "| {mark} | `{}` | `{}` | {} | {} | {} |",
                cell(&r.rule),
                cell(&r.scope),
                num(r.baseline),
                num(r.current),
                cell(&r.change_text())
            )?;
        }
    }
    writeln!(w)?;
    writeln!(
        w,
        "| endpoint | reqs | req/s | fail % | p50 | p90 | p95 | p99 | max |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for e in &s.endpoints {
        let d = &e.duration;
        writeln!(
            w,
            "| `{}` | {} | {:.1} | {:.2} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            cell(&e.label()),
            e.requests,
            e.rps,
            if e.requests == 0 {
                0.0
            } else {
                e.failed as f64 * 100.0 / e.requests as f64
            },
            d.med,
            d.p90,
            d.p95,
            d.p99,
            d.max
        )?;
    }
    if !s.errors.is_empty() {
        writeln!(w)?;
        writeln!(w, "<details><summary>errors</summary>")?;
        writeln!(w)?;
        for e in s.errors.iter().take(20) {
            writeln!(w, "- {} × {}", e.count, cell(&e.message))?;
        }
        writeln!(w, "</details>")?;
    }
    Ok(())
}
