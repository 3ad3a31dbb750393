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

pub fn write<W: Write>(w: &mut W, s: &Summary) -> io::Result<()> {
    let failures = s.thresholds.iter().filter(|t| !t.passed).count();
    let suite = format!("stampede {}", s.scenario.name);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="stampede" tests="{}" failures="{failures}" time="{:.3}">"#,
        s.thresholds.len(),
        s.duration_s
    )?;
    writeln!(
        w,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0" time="{:.3}">"#,
        esc(&suite),
        s.thresholds.len(),
        s.duration_s
    )?;
    for t in &s.thresholds {
        write!(
            w,
            r#"    <testcase classname="{}.thresholds" name="{}" time="0""#,
            esc(&suite),
            esc(&t.expression)
        )?;
        if t.passed {
            writeln!(w, "/>")?;
        } else {
            let msg = t.line();
            writeln!(w, ">")?;
            writeln!(
                w,
                r#"      <failure message="{}" type="threshold">{}</failure>"#,
                esc(&msg),
                esc(&msg)
            )?;
            writeln!(w, "    </testcase>")?;
        }
    }
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "</testsuites>")?;
    Ok(())
}
