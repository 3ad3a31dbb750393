//! k6 `per-vu-iterations`: each VU runs the same number of iterations.

use std::sync::Arc;
use std::time::Duration;

use super::closed::{self, Budget};
use super::segment::Segment;
use super::shared_iterations::at_most;
use super::{Executor, Load, LoadCtx, LoadFuture, Plan, Requirements};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerVuIterations {
    pub iterations: u64,
    /// Ends the load even with iterations left (k6's `maxDuration`).
    pub max_duration: Option<Duration>,
}

impl Executor for PerVuIterations {
    fn kind(&self) -> &'static str {
        "per-vu-iterations"
    }

    fn validate(&self) -> Result<(), String> {
        if self.iterations == 0 {
            return Err("--iterations-per-vu 0: at least one iteration is needed".into());
        }
        Ok(())
    }

    fn describe(&self, plan: &Plan) -> Vec<String> {
        vec![format!(
            "per-vu-iterations: {} VUs, {} iterations each ({} in all){}",
            plan.vus,
            self.iterations,
            self.iterations * plan.vus as u64,
            at_most(self.max_duration)
        )]
    }

    fn requirements(&self, plan: &Plan) -> Requirements {
        Requirements {
            duration: None,
            iterations: Some(self.iterations * plan.vus as u64),
        }
    }

    fn split(&self, _: &Segment, _: &Plan) -> Load {
        Load::PerVuIterations(*self)
    }

    fn weighted(&self, _: &[u64], _: usize) -> Option<Load> {
        Some(Load::PerVuIterations(*self))
    }

    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a> {
        let n = self.iterations;
        Box::pin(closed::run_counted(
            ctx,
            move |_| Arc::new(Budget::iterations(n)),
            self.max_duration,
        ))
    }
}
