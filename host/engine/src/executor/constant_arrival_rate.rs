//! k6 `constant-arrival-rate`: iterations start at a fixed rate whether or not the
//! target keeps up.

use std::time::Duration;

use super::segment::Segment;
use super::{Executor, Load, LoadCtx, LoadFuture, Plan, RateStage, Requirements, arrival, fmt_d};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConstantArrivalRate {
    /// Iterations started per second.
    pub per_sec: f64,
    pub duration: Duration,
}

impl ConstantArrivalRate {
    /// The rate as the one flat stage the open model's engine runs.
    fn stages(&self) -> [RateStage; 1] {
        [RateStage {
            duration: self.duration,
            target: self.per_sec,
        }]
    }
}

impl Executor for ConstantArrivalRate {
    fn kind(&self) -> &'static str {
        "constant-arrival-rate"
    }

    fn is_open(&self) -> bool {
        true
    }

    fn validate(&self) -> Result<(), String> {
        let rate = self.per_sec;
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(format!(
                "--rate {rate}: iterations per second must be above 0"
            ));
        }
        if self.duration.is_zero() {
            return Err("--duration 0s: the run needs some time".into());
        }
        Ok(())
    }

    fn default_vus(&self) -> Option<u32> {
        // One VU per iteration per second by default.
        Some((self.per_sec.ceil() as u32).clamp(1, 1000))
    }

    fn describe(&self, plan: &Plan) -> Vec<String> {
        vec![format!(
            "constant-arrival-rate: {} iterations/s for {} ({} iterations) on {} (open model: latency from the scheduled start)",
            self.per_sec,
            fmt_d(self.duration),
            arrival::planned(self.per_sec, &self.stages()),
            plan.vus_text()
        )]
    }

    fn requirements(&self, _: &Plan) -> Requirements {
        Requirements {
            duration: Some(self.duration),
            iterations: None,
        }
    }

    /// The schedule is striped over the segments, not split.
    fn split(&self, _: &Segment, _: &Plan) -> Load {
        Load::ConstantArrivalRate(*self)
    }

    fn weighted(&self, weights: &[u64], i: usize) -> Option<Load> {
        let total: u64 = weights.iter().sum::<u64>().max(1);
        // A rate shares exactly: only counts need rounding.
        Some(Load::rate(
            self.per_sec * weights[i] as f64 / total as f64,
            self.duration,
        ))
    }

    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a> {
        Box::pin(async move { arrival::run(ctx, self.per_sec, &self.stages()).await })
    }
}
