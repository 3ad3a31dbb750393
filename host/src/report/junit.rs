//! JUnit XML: one test case per threshold, so CI systems list the gate as test results.

use std::io::{self, Write};

use crate::metrics::Summary;

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

/// One test case: name, and the failure message if it failed.
fn cases(s: &Summary) -> Vec<(String, &'static str, Option<String>)> {
    let mut out: Vec<(String, &'static str, Option<String>)> = s
        .thresholds
        .iter()
        .map(|t| {
            (
                t.expression.clone(),
                "thresholds",
                (!t.passed).then(|| t.line()),
            )
        })
        .collect();
    for r in s.baseline.iter().filter(|r| r.skipped.is_none()) {
        let failed = r.breached && r.level == crate::gate::baseline::Level::Fail;
        out.push((
            format!("{} [{}]", r.rule, r.scope),
            "baseline",
            failed.then(|| r.line()),
        ));
    }
    out
}

pub fn write<W: Write>(w: &mut W, s: &Summary) -> io::Result<()> {
    let cases = cases(s);
    let failures = cases.iter().filter(|c| c.2.is_some()).count();
    let suite = format!("stampede {}", s.scenario.name);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="stampede" tests="{}" failures="{failures}" time="{:.3}">"#,
        cases.len(),
        s.duration_s
    )?;
    writeln!(
        w,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0" time="{:.3}">"#,
        esc(&suite),
        cases.len(),
        s.duration_s
    )?;
    for (name, class, failure) in &cases {
        write!(
            w,
            r#"    <testcase classname="{}.{class}" name="{}" time="0""#,
            esc(&suite),
            esc(name)
        )?;
        match failure {
            None => writeln!(w, "/>")?,
            Some(msg) => {
                writeln!(w, ">")?;
                writeln!(
                    w,
                    r#"      <failure message="{}" type="{class}">{}</failure>"#,
                    esc(msg),
                    esc(msg)
                )?;
                writeln!(w, "    </testcase>")?;
            }
        }
    }
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "</testsuites>")?;
    Ok(())
}
