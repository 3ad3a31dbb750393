//! A self-contained HTML report: one file with inline CSS and inline SVG charts, no
//! script and nothing fetched, so it opens the same from a CI artifact, offline.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::gate::Judged;
use crate::gate::evaluate::fmt_observed;
use crate::metrics::summary::TrendSummary;

use super::chart::{Line, XAxis, chart};
use super::escape::esc;
use crate::gate::curves::{MAX_CURVES, PERCENTILES};

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
        XAxis::Seconds,
        &[
            Line {
                label: "requests/s",
                color: "#0969da",
                points: pts(&|p| Some(p.requests as f64 / p.dt.max(1) as f64)),
                dashed: false,
            },
            Line {
                label: "failed/s",
                color: "#cf222e",
                points: pts(&|p| Some(p.failed as f64 / p.dt.max(1) as f64)),
                dashed: false,
            },
        ],
    );
    chart(
        &mut o,
        "chart-latency",
        "Request duration percentiles",
        "ms",
        XAxis::Seconds,
        &[
            Line {
                label: "p(50)",
                color: "#1f883d",
                points: pts(&|p| p.duration.as_ref().map(|d| d.med)),
                dashed: false,
            },
            Line {
                label: "p(95)",
                color: "#bf8700",
                points: pts(&|p| p.duration.as_ref().map(|d| d.p95)),
                dashed: false,
            },
            Line {
                label: "p(99)",
                color: "#cf222e",
                points: pts(&|p| p.duration.as_ref().map(|d| d.p99)),
                dashed: false,
            },
        ],
    );
    chart(
        &mut o,
        "chart-vus",
        "Active VUs",
        "",
        XAxis::Seconds,
        &[Line {
            label: "VUs",
            color: "#8250df",
            points: pts(&|p| Some(p.vus as f64)),
            dashed: false,
        }],
    );
    curves(&mut o, j);

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
    slowest_traces(&mut o, &s.endpoints);

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

/// The baseline's and the current latency percentiles overlaid, per scope. The x axis
/// is in "nines" (p90 one step, p99 two, p99.9 three) so the tail gets room.
fn curves(o: &mut String, j: &Judged) {
    if j.curves.is_empty() {
        return;
    }
    let nines = |p: f64| -(1.0 - p / 100.0).log10();
    let labels: Vec<(f64, String)> = PERCENTILES
        .iter()
        .map(|p| (nines(*p), format!("p{}", fmt_observed(*p))))
        .collect();
    let labels: Vec<(f64, &str)> = labels.iter().map(|(x, l)| (*x, l.as_str())).collect();
    o.push_str("<h2>Latency distribution against the baseline</h2>");
    let names = j.summary.endpoints.len();
    let drawn = j.curves.iter().filter(|c| c.scope != "all").count();
    if drawn < names {
        let _ = write!(
            o,
            "<p>{drawn} of {names} request names drawn: the busiest with a baseline (at most {}).</p>",
            MAX_CURVES - 1
        );
    }
    for (i, c) in j.curves.iter().enumerate() {
        let line = |label, color, values: &[f64], dashed| Line {
            label,
            color,
            points: PERCENTILES
                .iter()
                .zip(values)
                .map(|(p, v)| (nines(*p), *v))
                .collect(),
            dashed,
        };
        chart(
            o,
            &format!("chart-curve-{i}"),
            &c.scope,
            "ms",
            XAxis::Labels(&labels),
            &[
                line("baseline", "#8a929b", &c.baseline_ms, true),
                line("current", "#0969da", &c.current_ms, false),
            ],
        );
    }
}

/// The slowest traced requests per endpoint (`--trace-context`): their trace ids, to
/// look up in the target's tracing.
fn slowest_traces(o: &mut String, endpoints: &[crate::metrics::summary::EndpointSummary]) {
    if endpoints.iter().all(|e| e.exemplars.is_empty()) {
        return;
    }
    o.push_str("<h2>Slowest traced requests</h2><table><tr><th>name</th><th>duration</th><th>at</th><th>trace id</th><th>span id</th></tr>");
    for e in endpoints.iter().filter(|e| !e.exemplars.is_empty()) {
        for x in &e.exemplars {
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td class="num">{:.2}</td><td class="num">{:.1}s</td><td><code>{}</code></td><td><code>{}</code></td></tr>"#,
                esc(&e.label()),
                x.duration_ms,
                x.at_ms as f64 / 1000.0,
                esc(&x.trace_id),
                esc(&x.span_id)
            );
        }
    }
    o.push_str(
        "</table><p class=\"meta\">Durations in milliseconds; at: from the run's start.</p>",
    );
}
