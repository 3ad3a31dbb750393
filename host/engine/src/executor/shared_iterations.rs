//! k6 `shared-iterations`: VUs share a fixed number of iterations; a fast VU takes more.

use std::sync::Arc;
use std::time::Duration;

use super::closed::{self, Budget};
use super::segment::{Segment, split_by};
use super::{Executor, Load, LoadCtx, LoadFuture, Plan, Requirements, fmt_d};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedIterations {
    pub iterations: u64,
    /// Ends the load even with iterations left (k6's `maxDuration`).
    pub max_duration: Option<Duration>,
}

impl Executor for SharedIterations {
    fn kind(&self) -> &'static str {
        "shared-iterations"
    }

    fn validate(&self) -> Result<(), String> {
        if self.iterations == 0 {
            return Err("--iterations 0: at least one iteration is needed".into());
        }
        Ok(())
    }

    fn describe(&self, plan: &Plan) -> Vec<String> {
        vec![format!(
            "shared-iterations: {} VUs sharing {} iterations{}",
            plan.vus,
            self.iterations,
            at_most(self.max_duration)
        )]
    }

    fn requirements(&self, _: &Plan) -> Requirements {
        Requirements {
            duration: None,
            iterations: Some(self.iterations),
        }
    }

    /// The iterations follow the VUs: a segment without VUs could not run its share,
    /// so they are split in proportion to the VU shares.
    fn split(&self, seg: &Segment, plan: &Plan) -> Load {
        let vus: Vec<u64> = (0..seg.count)
            .map(|i| {
                Segment {
                    index: i,
                    count: seg.count,
                }
                .share(plan.vus as u64)
            })
            .collect();
        self.with(split_by(self.iterations, &vus)[seg.index as usize])
    }

    fn weighted(&self, weights: &[u64], i: usize) -> Option<Load> {
        Some(self.with(split_by(self.iterations, weights)[i]))
    }

    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a> {
        let budget = Arc::new(Budget::iterations(self.iterations));
        Box::pin(closed::run_counted(
            ctx,
            move |_| budget.clone(),
            self.max_duration,
        ))
    }
}

impl SharedIterations {
    /// The same settings with another number of iterations (a share of these).
    fn with(&self, iterations: u64) -> Load {
        Load::SharedIterations(SharedIterations {
            iterations,
            ..*self
        })
    }
}

/// `, at most 10m` for a load with a time limit, for its plan line.
pub(super) fn at_most(max: Option<Duration>) -> String {
    max.map(|d| format!(", at most {}", fmt_d(d)))
        .unwrap_or_default()
}
