//! Load models. A plan is computed up front from the configuration; executors run it.

pub mod closed;

use std::time::Duration;

/// How much work a closed-model run does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// VUs loop until the duration is over (k6 `constant-vus`).
    Duration(Duration),
    /// VUs share a fixed number of iterations (k6 `shared-iterations`).
    Iterations(u64),
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
        }
    }
}
