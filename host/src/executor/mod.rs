//! Load models. A plan is computed up front from the configuration; executors run it.

pub mod arrival;
pub mod closed;
pub mod ramping;
pub mod segment;
pub mod user;

use std::time::Duration;

pub use arrival::RateStage;
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
    /// Open: the arrival rate follows linear stages from `start_rate` (k6
    /// `ramping-arrival-rate`).
    RampingRate {
        start_rate: f64,
        stages: Vec<RateStage>,
    },
}

impl Load {
    pub fn is_open(&self) -> bool {
        matches!(self, Load::Rate { .. } | Load::RampingRate { .. })
    }

    /// The open model's rate as stages (a constant rate is one flat stage).
    pub fn rate_stages(&self) -> Option<(f64, Vec<RateStage>)> {
        match self {
            Load::Rate { per_sec, duration } => Some((
                *per_sec,
                vec![RateStage {
                    duration: *duration,
                    target: *per_sec,
                }],
            )),
            Load::RampingRate { start_rate, stages } => Some((*start_rate, stages.clone())),
            _ => None,
        }
    }

    /// How long the load lasts, when time-bound.
    pub fn planned_duration(&self) -> Option<Duration> {
        match self {
            Load::Duration(d) | Load::Rate { duration: d, .. } => Some(*d),
            Load::Stages(st) => Some(ramping::total(st)),
            Load::RampingRate { stages, .. } => Some(stages.iter().map(|s| s.duration).sum()),
            Load::Iterations(_) | Load::PerVuIterations(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// VUs set up at the start (for ramping VUs: the most any stage wants).
    pub vus: u32,
    /// VUs instantiated at most: the open model may set up more than `vus` when none
    /// is idle (the pooling allocator is sized from it).
    pub max_vus: u32,
    pub load: Load,
    /// How long running iterations may take to finish once the load is over.
    pub graceful_stop: Duration,
    /// Open model split over segments: start only this segment's stripe of the
    /// schedule.
    pub stripe: Option<segment::Segment>,
}

impl Plan {
    fn vus_text(&self) -> String {
        if self.max_vus > self.vus {
            format!("{} VUs set up, up to {}", self.vus, self.max_vus)
        } else {
            format!("{} VUs", self.vus)
        }
    }
}

/// `  stage 2: 10s → 1m10s: hold 50 VUs`, one line per stage, ramping from `start`.
fn stage_lines(
    start: f64,
    stages: impl Iterator<Item = (Duration, f64)>,
    what: impl Fn(f64, f64) -> String,
) -> Vec<String> {
    let (mut at, mut from) = (Duration::ZERO, start);
    stages
        .enumerate()
        .map(|(i, (duration, to))| {
            let end = at + duration;
            let line = format!(
                "  stage {}: {} → {}: {}",
                i + 1,
                fmt_d(at),
                fmt_d(end),
                what(from, to)
            );
            (at, from) = (end, to);
            line
        })
        .collect()
}

fn fmt_d(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

impl Plan {
    /// A plan with the default graceful stop (10 s) and no VUs beyond `vus`.
    pub fn new(vus: u32, load: Load) -> Self {
        Plan {
            vus,
            max_vus: vus,
            load,
            graceful_stop: Duration::from_secs(10),
            stripe: None,
        }
    }

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
                let steps = stages.iter().map(|s| (s.duration, s.target as f64));
                out.extend(stage_lines(0.0, steps, |from, to| {
                    if from == to {
                        format!("hold {to} VUs")
                    } else {
                        format!("{from} → {to} VUs")
                    }
                }));
                out
            }
            Load::Rate { per_sec, duration } => vec![format!(
                "constant-arrival-rate: {per_sec} iterations/s for {} ({} iterations) on {} (open model: latency from the scheduled start)",
                fmt_d(*duration),
                arrival::planned(*per_sec, &self.load.rate_stages().unwrap_or_default().1),
                self.vus_text()
            )],
            Load::RampingRate { start_rate, stages } => {
                let mut out = vec![format!(
                    "ramping-arrival-rate: {} iterations over {} in {} stages on {} (open model: latency from the scheduled start)",
                    arrival::planned(*start_rate, stages),
                    fmt_d(stages.iter().map(|s| s.duration).sum()),
                    stages.len(),
                    self.vus_text()
                )];
                let steps = stages.iter().map(|s| (s.duration, s.target));
                out.extend(stage_lines(*start_rate, steps, |from, to| {
                    if from == to {
                        format!("hold {to}/s")
                    } else {
                        format!("{from}/s → {to}/s")
                    }
                }));
                out
            }
        }
    }
}
