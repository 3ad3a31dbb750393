//! Load models. A plan is computed up front from the configuration; executors run it.

pub mod arrival;
pub mod closed;
mod user;

use std::time::Duration;

/// How much work a run does, and in which model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Closed: VUs loop until the duration is over (k6 `constant-vus`).
    Duration(Duration),
    /// Closed: VUs share a fixed number of iterations (k6 `shared-iterations`).
    Iterations(u64),
    /// Open: iterations start at a fixed rate whether or not the target keeps up
    /// (k6 `constant-arrival-rate`); with no VU free, an iteration is dropped.
    Rate { per_sec: f64, duration: Duration },
}

impl Load {
    pub fn is_open(&self) -> bool {
        matches!(self, Load::Rate { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub vus: u32,
    pub load: Load,
    /// How long running iterations may take to finish once the load is over.
    pub graceful_stop: Duration,
}

impl Plan {
    /// One line for the console before the run starts.
    pub fn describe(&self) -> String {
        match self.load {
            Load::Duration(d) => format!(
                "{} VUs for {} (graceful stop {})",
                self.vus,
                humantime::format_duration(d),
                humantime::format_duration(self.graceful_stop)
            ),
            Load::Iterations(n) => format!("{} VUs sharing {} iterations", self.vus, n),
            Load::Rate { per_sec, duration } => format!(
                "{per_sec} iterations/s for {} on up to {} VUs (open model: latency from the scheduled start)",
                humantime::format_duration(duration),
                self.vus
            ),
        }
    }
}
