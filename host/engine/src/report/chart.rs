//! Inline SVG line charts for the HTML report: axes, grid, legend, no script.

use std::fmt::Write as _;

use super::escape::esc;
use crate::gate::evaluate::fmt_observed;

/// One line of a chart.
pub(super) struct Line<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (a reference, such as the baseline).
    pub dashed: bool,
}

/// What the x axis shows.
pub(super) enum XAxis<'a> {
    /// Seconds of the run, ticks at round steps.
    Seconds,
    /// Ticks at these positions with these labels.
    Labels(&'a [(f64, &'a str)]),
}

const W: f64 = 860.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A round step giving about five grid lines up to `max`.
pub(super) fn nice_step(max: f64) -> f64 {
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

/// An SVG line chart with axes, grid and legend.
pub(super) fn chart(
    out: &mut String,
    id: &str,
    title: &str,
    unit: &str,
    x_axis: XAxis,
    lines: &[Line],
) {
    let mut x_max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    if let XAxis::Labels(labels) = &x_axis {
        // Room for the last label, centred on its tick.
        x_max = labels.iter().map(|l| l.0).fold(x_max, f64::max) * 1.04;
    }
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
    let mut tick = |x: f64, label: &str| {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            sx(x),
            H - 8.0,
            esc(label)
        );
    };
    match x_axis {
        XAxis::Seconds => {
            let x_step = nice_step(x_max);
            let mut x = 0.0;
            while x <= x_max + 1e-9 {
                tick(x, &format!("{}s", fmt_observed(x)));
                x += x_step;
            }
        }
        XAxis::Labels(labels) => {
            for (x, l) in labels {
                tick(*x, l);
            }
        }
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
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2"{} points="{}"><title>{}</title></polyline>"#,
            l.color,
            if l.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
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
            XAxis::Seconds,
            &[
                Line {
                    label: "a",
                    color: "#000",
                    points: vec![(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)],
                    dashed: false,
                },
                Line {
                    label: "empty",
                    color: "#111",
                    points: vec![],
                    dashed: true,
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
