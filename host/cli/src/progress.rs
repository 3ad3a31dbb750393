//! Live progress on stderr: one line redrawn in place on a terminal; plain periodic
//! lines otherwise (CI logs keep every line, so they come at most every 10 s).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use stampede::run::{LiveStatus, Progress};

pub struct Printer {
    quiet: bool,
    tty: bool,
    /// A live line is on screen (terminal only) and must be cleared before a note.
    shown: bool,
    last_plain: Option<Duration>,
}

impl Printer {
    pub fn new(quiet: bool) -> Self {
        Printer {
            quiet,
            tty: std::io::stderr().is_terminal(),
            shown: false,
            last_plain: None,
        }
    }

    pub fn show(&mut self, p: Progress) {
        if self.quiet && !matches!(p, Progress::Notice(_)) {
            return;
        }
        let mut err = std::io::stderr().lock();
        match p {
            Progress::Notice(line) => {
                self.clear(&mut err);
                let _ = writeln!(err, "stampede: {line}");
            }
            Progress::Note(line) => {
                self.clear(&mut err);
                let _ = writeln!(err, "stampede: {line}");
            }
            Progress::Aborted(why) => {
                self.clear(&mut err);
                let _ = writeln!(
                    err,
                    "stampede: {why}: stopping, running iterations finish first"
                );
            }
            Progress::Live(st) => {
                let line = format_live(&st);
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K{line}");
                    let _ = err.flush();
                    self.shown = true;
                } else if self.last_plain.is_none_or(|last| {
                    // Ticks come once a second, give or take scheduling: a little slack.
                    st.elapsed + Duration::from_millis(200) >= last + plain_every(&st)
                }) {
                    self.last_plain = Some(st.elapsed);
                    let _ = writeln!(err, "stampede: {line}");
                }
            }
        }
    }

    /// Clears the live line, before the summary is printed.
    pub fn done(&mut self) {
        let mut err = std::io::stderr().lock();
        self.clear(&mut err);
    }

    fn clear(&mut self, w: &mut impl Write) {
        if self.shown {
            let _ = write!(w, "\r\x1b[2K");
            let _ = w.flush();
            self.shown = false;
        }
    }
}

/// A tenth of the planned time, between 1 and 10 seconds: a short run still shows
/// some lines, a long one does not flood the log.
fn plain_every(st: &LiveStatus) -> Duration {
    st.planned
        .map(|p| p / 10)
        .unwrap_or(Duration::from_secs(5))
        .clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// `12s/30s [######----] 20 VUs, 153.2 req/s, 3 errors (0.21%), p95 12.3ms`.
pub fn format_live(st: &LiveStatus) -> String {
    let secs = st.elapsed.as_secs();
    let l = &st.live;
    let head = match (st.planned, st.planned_iterations) {
        (Some(p), _) => {
            // The bar from the same whole seconds as the label, so the two agree.
            let frac = (secs as f64 / p.as_secs_f64().max(1e-9)).min(1.0);
            let filled = (frac * 20.0).floor() as usize;
            format!(
                "{secs}s/{}s [{}{}]",
                p.as_secs_f64().round() as u64,
                "#".repeat(filled),
                "-".repeat(20 - filled)
            )
        }
        (None, Some(n)) => format!("{secs}s, {}/{n} iterations", l.iterations),
        (None, None) => format!("{secs}s"),
    };
    let pct = if l.requests == 0 {
        0.0
    } else {
        100.0 * l.failed as f64 / l.requests as f64
    };
    format!(
        "{head} {} VUs, {} req/s, {} errors ({pct:.2}%), p95 {:.1}ms",
        st.vus, l.last_second_requests, l.failed, l.p95_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede::metrics::aggregate::Live;

    fn status(elapsed: u64, planned: Option<u64>, iterations: Option<u64>) -> LiveStatus {
        LiveStatus {
            elapsed: Duration::from_secs(elapsed),
            planned: planned.map(Duration::from_secs),
            planned_iterations: iterations,
            vus: 20,
            live: Live {
                requests: 1000,
                failed: 3,
                iterations: 340,
                last_second_requests: 153,
                p95_ms: 12.34,
            },
        }
    }

    #[test]
    fn lines_show_progress_vus_rate_errors_and_p95() {
        assert_eq!(
            format_live(&status(15, Some(30), None)),
            "15s/30s [##########----------] 20 VUs, 153 req/s, 3 errors (0.30%), p95 12.3ms"
        );
        assert_eq!(
            format_live(&status(4, None, Some(1000))),
            "4s, 340/1000 iterations 20 VUs, 153 req/s, 3 errors (0.30%), p95 12.3ms"
        );
    }

    #[test]
    fn plain_lines_come_every_tenth_of_the_run_within_bounds() {
        let every = |p| plain_every(&status(0, p, None));
        assert_eq!(every(Some(3)), Duration::from_secs(1));
        assert_eq!(every(Some(60)), Duration::from_secs(6));
        assert_eq!(every(Some(3600)), Duration::from_secs(10));
        assert_eq!(every(None), Duration::from_secs(5));
    }
}
