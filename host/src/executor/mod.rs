//! Load models. A plan is computed up front from the configuration; executors run it.

pub mod arrival;
pub mod closed;
pub mod ramping;
pub mod user;

use std::time::Duration;

pub use ramping::Stage;

/// How much work a run does, and in which model.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Closed: VUs loop until the duration is over (k6 `constant-vus`).
    Duration(Duration),
    /// Closed: VUs share a fixed number of iterations (k6 `shared-iterations`).
    Iterations(u64),
    /// Closed: each VU runs this many iterations (k6 `per-vu-iterations`).
    PerVuIterations(u64),
    /// Closed: the number of looping VUs follows the stages (k6 `ramping-vus`).
    Stages(Vec<Stage>),
    /// Open: iterations start at a fixed rate whether or not the target keeps up
    /// (k6 `constant-arrival-rate`); with no VU free, an iteration is dropped.
    Rate { per_sec: f64, duration: Duration },
}

impl Load {
    pub fn is_open(&self) -> bool {
        matches!(self, Load::Rate { .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// VUs instantiated at most (the pooling allocator is sized from it).
    pub vus: u32,
    pub load: Load,
    /// How long running iterations may take to finish once the load is over.
    pub graceful_stop: Duration,
}

fn fmt_d(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

impl Plan {
    /// The plan as printed before the run starts: one line, then one per step.
    pub fn describe(&self) -> Vec<String> {
        let grace = fmt_d(self.graceful_stop);
        match &self.load {
            Load::Duration(d) => vec![format!(
                "constant-vus: {} VUs for {} (graceful stop {grace})",
                self.vus,
                fmt_d(*d)
            )],
            Load::Iterations(n) => vec![format!(
                "shared-iterations: {} VUs sharing {n} iterations",
                self.vus
            )],
            Load::PerVuIterations(n) => vec![format!(
                "per-vu-iterations: {} VUs, {n} iterations each ({} in all)",
                self.vus,
                n * self.vus as u64
            )],
            Load::Stages(stages) => {
                let mut out = vec![format!(
                    "ramping-vus: up to {} VUs over {} in {} stages (graceful stop {grace})",
                    self.vus,
                    fmt_d(ramping::total(stages)),
                    stages.len()
                )];
                let (mut at, mut from) = (Duration::ZERO, 0);
                for (i, s) in stages.iter().enumerate() {
                    let end = at + s.duration;
                    let what = if from == s.target {
                        format!("hold {} VUs", s.target)
                    } else {
                        format!("{from} → {} VUs", s.target)
                    };
                    out.push(format!(
                        "  stage {}: {} → {}: {what}",
                        i + 1,
                        fmt_d(at),
                        fmt_d(end)
                    ));
                    (at, from) = (end, s.target);
                }
                out
            }
            Load::Rate { per_sec, duration } => vec![format!(
                "constant-arrival-rate: {per_sec} iterations/s for {} on up to {} VUs ({} iterations; open model: latency from the scheduled start)",
                fmt_d(*duration),
                self.vus,
                (per_sec * duration.as_secs_f64()).round() as u64
            )],
        }
    }
}
