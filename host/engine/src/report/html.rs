//! A self-contained HTML report: one file with inline CSS and inline SVG charts, no
//! script and nothing fetched, so it opens the same from a CI artifact, offline.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::gate::Judged;
use crate::gate::evaluate::fmt_observed;
use crate::metrics::summary::TrendSummary;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of a chart.
struct Line<'a> {
    label: &'a str,
    color: &'a str,
    points: Vec<(f64, f64)>,
}

const W: f64 = 860.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A round step giving about five grid lines up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

/// An SVG line chart with axes, grid and legend; `x` in seconds.
fn chart(out: &mut String, id: &str, title: &str, unit: &str, lines: &[Line]) {
    let x_max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let y_top = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let y_step = nice_step(if y_top > 0.0 { y_top } else { 1.0 });
    let y_max = (y_top / y_step).ceil().max(1.0) * y_step;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + x / x_max * pw;
    let sy = |y: f64| TOP + ph - y / y_max * ph;
    let _ = write!(
        out,
        r#"<figure class="chart" id="{id}"><figcaption>{}</figcaption><svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    let mut y = 0.0;
    while y <= y_max + y_step / 2.0 {
        let py = sy(y);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e3e6ea"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}{unit}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            fmt_observed(y)
        );
        y += y_step;
    }
    let x_step = nice_step(x_max);
    let mut x = 0.0;
    while x <= x_max + 1e-9 {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}s</text>"#,
            sx(x),
            H - 8.0,
            fmt_observed(x)
        );
        x += x_step;
    }
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#8a929b"/>"##,
        TOP + ph
    );
    for l in lines {
        if l.points.is_empty() {
            continue;
        }
        let pts: Vec<String> = l
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            l.color,
            pts.join(" "),
            esc(l.label)
        );
    }
    out.push_str("</svg><div class=\"legend\">");
    for l in lines {
        let _ = write!(
            out,
            r#"<span><i style="background:{}"></i>{}</span>"#,
            l.color,
            esc(l.label)
        );
    }
    out.push_str("</div></figure>");
}

fn trend_cells(out: &mut String, t: &TrendSummary) {
    for v in [t.min, t.avg, t.med, t.p90, t.p95, t.p99, t.max] {
        let _ = write!(out, "<td class=\"num\">{}</td>", fmt_observed(v));
    }
}

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2329;background:#f6f7f9}
main{max-width:900px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#5b6570}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.pass{background:#1f883d}.fail{background:#cf222e}.warn{color:#9a6700}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:16px}
.card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:18px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d8dde3;padding:4px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure.chart{background:#fff;border:1px solid #d8dde3;border-radius:8px;margin:12px 0;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}
svg{max-width:100%;height:auto}
.tick{font-size:11px;fill:#5b6570}
.legend span{margin-right:14px;color:#5b6570}
.legend i{display:inline-block;width:12px;height:3px;margin-right:5px;vertical-align:middle}
code{background:#eef1f4;padding:1px 4px;border-radius:4px}
.reasons{color:#b42318}
"#;

pub fn write<W: Write>(w: &mut W, j: &Judged) -> io::Result<()> {
    let s = &j.summary;
    let mut o = String::with_capacity(32 * 1024);
    let passed = j.verdict.as_ref().is_some_and(|v| v.passed);
    let headline = j
        .verdict
        .as_ref()
        .map_or("not judged".to_string(), |v| v.headline.clone());
    let _ = write!(
        o,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Stampede: {}</title><style>{CSS}</style></head><body><main>"#,
        esc(&s.scenario.name)
    );
    let _ = write!(
        o,
        r#"<h1>Stampede: {} <span class="verdict {}">{}</span></h1><div class="meta">{} · target {} · {} VUs max · {:.1} s · {} model ({})</div>"#,
        esc(&s.scenario.name),
        if passed { "pass" } else { "fail" },
        esc(&headline),
        esc(&s.scenario.file),
        esc(s.target.as_deref().unwrap_or("(none)")),
        s.vus_max,
        s.duration_s,
        esc(&s.model),
        if s.model == "open" {
            "latency from the scheduled start"
        } else {
            "latency is service time"
        }
    );
    if let Some(why) = s.interrupted.as_ref().or(s.aborted.as_ref()) {
        let _ = write!(
            o,
            r#"<p class="warn">Run cut short: {}; the figures cover what was measured.</p>"#,
            esc(why)
        );
    }
    if let Some(v) = j.verdict.as_ref().filter(|v| !v.reasons.is_empty()) {
        o.push_str(r#"<ul class="reasons">"#);
        for r in &v.reasons {
            let _ = write!(o, "<li>{}</li>", esc(r));
        }
        o.push_str("</ul>");
    }
    let t = &s.totals;
    o.push_str(r#"<div class="cards">"#);
    for (label, value) in [
        ("requests", format!("{}", t.http_reqs)),
        ("requests/s", format!("{:.1}", t.http_reqs_rate)),
        (
            "requests failed",
            format!("{:.2}%", t.http_req_failed_rate * 100.0),
        ),
        (
            "p(95)",
            format!("{} ms", fmt_observed(s.http_req_duration.p95)),
        ),
        ("iterations", format!("{}", t.iterations)),
        (
            "iterations failed",
            format!(
                "{} ({:.2}%)",
                t.iterations_failed,
                if t.iterations == 0 {
                    0.0
                } else {
                    t.iterations_failed as f64 * 100.0 / t.iterations as f64
                }
            ),
        ),
        ("dropped", format!("{}", t.dropped_iterations)),
        (
            "checks",
            format!("{}/{}", t.checks_passed, t.checks_passed + t.checks_failed),
        ),
    ] {
        let _ = write!(
            o,
            r#"<div class="card"><b>{}</b>{label}</div>"#,
            esc(&value)
        );
    }
    o.push_str("</div>");

    if !j.thresholds.is_empty() {
        o.push_str(
            "<h2>Thresholds</h2><table><tr><th></th><th>threshold</th><th>observed</th></tr>",
        );
        for th in &j.thresholds {
            let observed = match (th.observed, &th.detail) {
                (Some(v), _) => format!("{}{}", fmt_observed(v), th.unit.as_deref().unwrap_or("")),
                (None, Some(d)) => d.clone(),
                (None, None) => String::new(),
            };
            let _ = write!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                if th.passed { "✓" } else { "✗" },
                esc(&th.expression),
                esc(&observed)
            );
        }
        o.push_str("</table>");
    }
    if !j.baseline.is_empty() {
        o.push_str("<h2>Against the baseline</h2><table><tr><th></th><th>rule</th><th>scope</th><th>baseline</th><th>current</th><th>change</th></tr>");
        for r in &j.baseline {
            let mark = match (&r.inconclusive, r.breached, r.level) {
                (Some(_), ..) => "?",
                (None, false, _) => "✓",
                (None, true, crate::gate::baseline::Level::Fail) => "✗",
                (None, true, crate::gate::baseline::Level::Warn) => "!",
            };
            let num = |v: Option<f64>| v.map(fmt_observed).unwrap_or_default();
            let change = r.change_text();
            let _ = write!(
                o,
                r#"<tr><td>{mark}</td><td><code>{}</code></td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                esc(&r.rule),
                esc(&r.scope),
                num(r.baseline),
                num(r.current),
                esc(&change)
            );
        }
        o.push_str("</table>");
    }

    o.push_str("<h2>Over time</h2>");
    let pts = |f: &dyn Fn(&crate::metrics::summary::SeriesPoint) -> Option<f64>| {
        s.series
            .iter()
            .filter_map(|p| f(p).map(|v| (p.t as f64, v)))
            .collect::<Vec<_>>()
    };
    chart(
        &mut o,
        "chart-throughput",
        "Requests and errors per second",
        "",
        &[
            Line {
                label: "requests/s",
                color: "#0969da",
                points: pts(&|p| Some(p.requests as f64)),
            },
            Line {
                label: "failed/s",
                color: "#cf222e",
                points: pts(&|p| Some(p.failed as f64)),
            },
        ],
    );
    chart(
        &mut o,
        "chart-latency",
        "Request duration percentiles",
        "ms",
        &[
            Line {
                label: "p(50)",
                color: "#1f883d",
                points: pts(&|p| p.duration.as_ref().map(|d| d.med)),
            },
            Line {
                label: "p(95)",
                color: "#bf8700",
                points: pts(&|p| p.duration.as_ref().map(|d| d.p95)),
            },
            Line {
                label: "p(99)",
                color: "#cf222e",
                points: pts(&|p| p.duration.as_ref().map(|d| d.p99)),
            },
        ],
    );
    chart(
        &mut o,
        "chart-vus",
        "Active VUs",
        "",
        &[Line {
            label: "VUs",
            color: "#8250df",
            points: pts(&|p| Some(p.vus as f64)),
        }],
    );

    o.push_str("<h2>Endpoints</h2><table><tr><th>name</th><th>requests</th><th>failed</th><th>req/s</th><th>min</th><th>avg</th><th>med</th><th>p(90)</th><th>p(95)</th><th>p(99)</th><th>max</th></tr>");
    for e in &s.endpoints {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{:.1}</td>"#,
            esc(&e.label()),
            e.requests,
            e.failed,
            e.rps
        );
        trend_cells(&mut o, &e.duration);
        o.push_str("</tr>");
    }
    o.push_str(r#"<tr><td><b>all</b></td>"#);
    let _ = write!(
        o,
        r#"<td class="num">{}</td><td class="num">{}</td><td class="num">{:.1}</td>"#,
        t.http_reqs, t.http_req_failed, t.http_reqs_rate
    );
    trend_cells(&mut o, &s.http_req_duration);
    o.push_str("</tr></table><p class=\"meta\">Durations in milliseconds.</p>");

    if !s.checks.is_empty() {
        o.push_str("<h2>Checks</h2><table><tr><th>check</th><th>passed</th><th>failed</th><th>rate</th></tr>");
        for c in &s.checks {
            let total = (c.passes + c.fails).max(1);
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{:.2}%</td></tr>"#,
                esc(&c.label()),
                c.passes,
                c.fails,
                100.0 * c.passes as f64 / total as f64
            );
        }
        o.push_str("</table>");
    }
    if !s.errors.is_empty() {
        o.push_str("<h2>Errors</h2><table><tr><th>count</th><th>message</th></tr>");
        for e in &s.errors {
            let _ = write!(
                o,
                r#"<tr><td class="num">{}</td><td>{}</td></tr>"#,
                e.count,
                esc(&e.message)
            );
        }
        o.push_str("</table>");
    }
    if !s.warnings.is_empty() {
        o.push_str("<h2>Warnings</h2><ul>");
        for wn in &s.warnings {
            let _ = write!(o, "<li>{}</li>", esc(wn));
        }
        o.push_str("</ul>");
    }
    let _ = write!(
        o,
        r#"<p class="meta">stampede {} · scenario sha256 {}</p></main></body></html>"#,
        esc(&s.stampede_version),
        esc(&s.scenario.sha256)
    );
    w.write_all(o.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_picks_round_steps() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(nice_step(100.0), 20.0);
        assert_eq!(nice_step(7.0), 2.0);
        assert_eq!(nice_step(0.3), 0.1);
    }

    #[test]
    fn a_chart_has_one_polyline_per_line_with_data() {
        let mut out = String::new();
        chart(
            &mut out,
            "c",
            "T <1>",
            "ms",
            &[
                Line {
                    label: "a",
                    color: "#000",
                    points: vec![(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)],
                },
                Line {
                    label: "empty",
                    color: "#111",
                    points: vec![],
                },
            ],
        );
        assert_eq!(out.matches("<polyline").count(), 1);
        assert!(out.contains("T &lt;1&gt;"));
        // y runs 0..3 (three steps of 1) over 180 px; x 0..2 over 792 px.
        assert!(
            out.contains(r#"points="56.0,132.0 452.0,12.0 848.0,72.0""#),
            "{out}"
        );
    }
}
