//! JUnit XML: one test case per threshold, so CI systems list the gate as test results.

use std::io::{self, Write};

use crate::gate::Judged;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// One test case per threshold and baseline rule.
fn cases(j: &Judged) -> Vec<(String, &'static str, Outcome)> {
    let s = &j.summary;
    let mut out: Vec<(String, &'static str, Outcome)> = j
        .thresholds
        .iter()
        .map(|t| {
            let outcome = if t.passed {
                Outcome::Passed
            } else {
                Outcome::Failed(t.line())
            };
            (t.expression.clone(), "thresholds", outcome)
        })
        .collect();
    // What the run could not do is a failed case of its own: CI lists it with the rest.
    for e in &s.run_errors {
        out.push((
            "the run ran the load asked for".to_string(),
            "run",
            Outcome::Failed(e.clone()),
        ));
    }
    for r in &j.baseline {
        let failed = r.is_regression();
        let outcome = match &r.inconclusive {
            Some(_) => Outcome::Skipped(r.line()),
            None if failed => Outcome::Failed(r.line()),
            None => Outcome::Passed,
        };
        out.push((format!("{} [{}]", r.rule, r.scope), "baseline", outcome));
    }
    out
}

pub fn write<W: Write>(w: &mut W, j: &Judged) -> io::Result<()> {
    let s = &j.summary;
    let cases = cases(j);
    let failures = cases
        .iter()
        .filter(|c| matches!(c.2, Outcome::Failed(_)))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.2, Outcome::Skipped(_)))
        .count();
    let suite = format!("stampede {}", s.scenario.name);
    let started = std::time::UNIX_EPOCH + std::time::Duration::from_millis(s.started_at_ms);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="stampede" tests="{}" failures="{failures}" skipped="{skipped}" time="{:.3}">"#,
        cases.len(),
        s.duration_s
    )?;
    writeln!(
        w,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="{skipped}" time="{:.3}" timestamp="{}">"#,
        esc(&suite),
        cases.len(),
        s.duration_s,
        humantime::format_rfc3339_seconds(started)
            .to_string()
            .trim_end_matches('Z')
    )?;
    for (name, class, outcome) in &cases {
        write!(
            w,
            r#"    <testcase classname="{}.{class}" name="{}" time="0""#,
            esc(&suite),
            esc(name)
        )?;
        match outcome {
            Outcome::Passed => writeln!(w, "/>")?,
            Outcome::Failed(msg) => {
                writeln!(w, ">")?;
                writeln!(
                    w,
                    r#"      <failure message="{}" type="{class}">{}</failure>"#,
                    esc(msg),
                    esc(msg)
                )?;
                writeln!(w, "    </testcase>")?;
            }
            Outcome::Skipped(why) => {
                writeln!(w, ">")?;
                writeln!(w, r#"      <skipped message="{}"/>"#, esc(why))?;
                writeln!(w, "    </testcase>")?;
            }
        }
    }
    if let Some(why) = s.aborted.as_ref().or(s.interrupted.as_ref()) {
        writeln!(
            w,
            "    <system-err>run cut short: {}</system-err>",
            esc(why)
        )?;
    }
    if let Some(v) = &j.verdict {
        writeln!(
            w,
            "    <system-out>verdict: {}</system-out>",
            esc(&v.headline)
        )?;
    }
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "</testsuites>")?;
    Ok(())
}
