//! k6 `shared-iterations`: VUs share a fixed number of iterations; a fast VU takes more.

use std::sync::Arc;

use super::closed::{self, Budget};
use super::segment::{Segment, split_by};
use super::{Executor, Load, LoadCtx, LoadFuture, Plan, Requirements};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedIterations {
    pub iterations: u64,
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
            "shared-iterations: {} VUs sharing {} iterations",
            plan.vus, self.iterations
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
        Load::iterations(split_by(self.iterations, &vus)[seg.index as usize])
    }

    fn weighted(&self, weights: &[u64], i: usize) -> Option<Load> {
        Some(Load::iterations(split_by(self.iterations, weights)[i]))
    }

    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a> {
        let budget = Arc::new(Budget::iterations(self.iterations));
        Box::pin(closed::run_counted(ctx, move |_| budget.clone()))
    }
}
