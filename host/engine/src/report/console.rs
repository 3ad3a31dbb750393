//! The end-of-run summary for humans: per-endpoint table, checks, errors.

use std::io::{self, Write};

use super::fmt::bytes;
use crate::gate::Judged;
use crate::metrics::summary::TrendSummary;

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2}s", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.1}ms")
    } else {
        format!("{v:.2}ms")
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn trend_line(t: &TrendSummary) -> String {
    format!(
        "avg={} min={} med={} p90={} p95={} p99={} max={}",
        ms(t.avg),
        ms(t.min),
        ms(t.med),
        ms(t.p90),
        ms(t.p95),
        ms(t.p99),
        ms(t.max)
    )
}

pub fn write<W: Write>(w: &mut W, j: &Judged) -> io::Result<()> {
    let s = &j.summary;
    let t = &s.totals;
    writeln!(w)?;
    writeln!(
        w,
        "  scenario {} ({}), {} VUs max, {:.1}s, {} model",
        s.scenario.name, s.scenario.file, s.vus_max, s.duration_s, s.model
    )?;
    for p in &s.scenarios {
        writeln!(
            w,
            "    [{}] {}: {} VUs max, {} model, {} requests, {} iterations ({} failed, {} dropped)",
            p.scenario.name,
            p.scenario.file,
            p.vus_max,
            p.model,
            p.totals.http_reqs,
            p.totals.iterations,
            p.totals.iterations_failed,
            p.totals.dropped_iterations
        )?;
    }
    if let Some(why) = s.interrupted.as_ref().or(s.aborted.as_ref()) {
        writeln!(w, "  run cut short: {why}; figures cover what was measured")?;
    }
    for e in &s.run_errors {
        writeln!(w, "  run error: {e}")?;
    }
    writeln!(w)?;
    let name_w = s
        .endpoints
        .iter()
        .map(|e| e.label().chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    writeln!(
        w,
        "  {:<name_w$}  {:>8} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "name", "reqs", "req/s", "fail%", "p50", "p90", "p95", "p99", "p99.9", "max"
    )?;
    for e in &s.endpoints {
        let name: String = e.label().chars().take(name_w).collect();
        let d = &e.duration;
        writeln!(
            w,
            "  {:<name_w$}  {:>8} {:>9.1} {:>6.2}% {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            name,
            e.requests,
            e.rps,
            pct(e.failed, e.requests),
            ms(d.med),
            ms(d.p90),
            ms(d.p95),
            ms(d.p99),
            ms(d.p99_9),
            ms(d.max)
        )?;
        let detail: Vec<String> = e
            .errors
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(
                e.status
                    .iter()
                    .filter(|(k, _)| k.as_str() >= "400")
                    .map(|(k, v)| format!("{k}={v}")),
            )
            .collect();
        if !detail.is_empty() {
            writeln!(w, "  {:<name_w$}  failures: {}", "", detail.join(" "))?;
        }
    }
    writeln!(w)?;
    writeln!(
        w,
        "  http_reqs.................: {} ({:.1}/s)",
        t.http_reqs, t.http_reqs_rate
    )?;
    writeln!(
        w,
        "  http_req_failed...........: {:.2}% ({} of {})",
        t.http_req_failed_rate * 100.0,
        t.http_req_failed,
        t.http_reqs
    )?;
    writeln!(
        w,
        "  http_req_duration.........: {}",
        trend_line(&s.http_req_duration)
    )?;
    writeln!(
        w,
        "  http_req_waiting..........: {}",
        trend_line(&s.http_req_waiting)
    )?;
    writeln!(
        w,
        "  http_req_connecting.......: {}",
        trend_line(&s.http_req_connecting)
    )?;
    writeln!(
        w,
        "  iterations................: {} ({} failed)",
        t.iterations, t.iterations_failed
    )?;
    if s.model == "open" {
        writeln!(
            w,
            "  dropped_iterations........: {} (due when no VU was free)",
            t.dropped_iterations
        )?;
    }
    writeln!(
        w,
        "  iteration_duration........: {}",
        trend_line(&s.iteration_duration)
    )?;
    writeln!(
        w,
        "  data_received.............: {}   data_sent: {}",
        bytes(t.data_received),
        bytes(t.data_sent)
    )?;
    if !s.checks.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "  checks....................: {:.2}% ({} of {})",
            pct(t.checks_passed, t.checks_passed + t.checks_failed),
            t.checks_passed,
            t.checks_passed + t.checks_failed
        )?;
        for c in &s.checks {
            let mark = if c.fails == 0 { '✓' } else { '✗' };
            writeln!(
                w,
                "    {mark} {} ({} passed, {} failed)",
                c.label(),
                c.passes,
                c.fails
            )?;
        }
    }
    if !s.custom.is_empty() {
        writeln!(w)?;
        for c in &s.custom {
            writeln!(
                w,
                "  {} ({}): {:.3} over {} samples",
                c.name, c.kind, c.value, c.count
            )?;
        }
    }
    if !s.errors.is_empty() {
        writeln!(w)?;
        writeln!(w, "  errors:")?;
        for e in s.errors.iter().take(10) {
            writeln!(w, "    {:>6} × {}", e.count, e.message)?;
        }
        if s.errors.len() > 10 {
            writeln!(
                w,
                "    ... {} more distinct messages in the JSON summary",
                s.errors.len() - 10
            )?;
        }
    }
    for warning in &s.warnings {
        writeln!(w, "  warning: {warning}")?;
    }
    if !j.baseline.is_empty() {
        writeln!(w)?;
        writeln!(w, "  baseline:")?;
        for r in &j.baseline {
            writeln!(w, "    {}", r.line())?;
        }
    }
    if !j.thresholds.is_empty() {
        writeln!(w)?;
        let default = j.thresholds.iter().any(|t| t.default_gate);
        writeln!(
            w,
            "  thresholds{}:",
            if default {
                " (the default gate: none was set; --allow-failures turns it off)"
            } else {
                ""
            }
        )?;
        for t in &j.thresholds {
            writeln!(w, "    {}", t.line())?;
        }
    }
    if let Some(v) = &j.verdict {
        writeln!(w)?;
        writeln!(w, "  verdict: {}", v.headline)?;
        for r in &v.reasons {
            writeln!(w, "    - {r}")?;
        }
    }
    writeln!(w)?;
    Ok(())
}
