//! k6 `ramping-arrival-rate`: the arrival rate follows linear stages from a start rate.

use super::segment::Segment;
use super::{
    Executor, Load, LoadCtx, LoadFuture, Plan, RateStage, Requirements, arrival, fmt_d, stage_lines,
};

#[derive(Debug, Clone, PartialEq)]
pub struct RampingArrivalRate {
    /// Iterations per second before the first stage.
    pub start_rate: f64,
    pub stages: Vec<RateStage>,
}

impl Executor for RampingArrivalRate {
    fn kind(&self) -> &'static str {
        "ramping-arrival-rate"
    }

    fn is_open(&self) -> bool {
        true
    }

    fn validate(&self) -> Result<(), String> {
        let bad = |r: f64| !(r >= 0.0 && r.is_finite());
        if bad(self.start_rate) || self.stages.iter().any(|s| bad(s.target)) {
            return Err("rate_stages: rates must be 0 or more iterations per second".into());
        }
        if arrival::planned(self.start_rate, &self.stages) == 0 {
            return Err("rate_stages: the stages plan no iterations".into());
        }
        Ok(())
    }

    fn default_vus(&self) -> Option<u32> {
        // One VU per iteration per second at the peak.
        let peak = self
            .stages
            .iter()
            .map(|s| s.target)
            .fold(self.start_rate, f64::max);
        Some((peak.ceil() as u32).clamp(1, 1000))
    }

    fn describe(&self, plan: &Plan) -> Vec<String> {
        let stages = &self.stages;
        let mut out = vec![format!(
            "ramping-arrival-rate: {} iterations over {} in {} stages on {} (open model: latency from the scheduled start)",
            arrival::planned(self.start_rate, stages),
            fmt_d(stages.iter().map(|s| s.duration).sum()),
            stages.len(),
            plan.vus_text()
        )];
        let steps = stages.iter().map(|s| (s.duration, s.target));
        out.extend(stage_lines(self.start_rate, steps, |from, to| {
            if from == to {
                format!("hold {to}/s")
            } else {
                format!("{from}/s → {to}/s")
            }
        }));
        out
    }

    fn requirements(&self, _: &Plan) -> Requirements {
        Requirements {
            duration: Some(self.stages.iter().map(|s| s.duration).sum()),
            iterations: None,
        }
    }

    /// The schedule is striped over the segments, not split.
    fn split(&self, _: &Segment, _: &Plan) -> Load {
        Load::RampingArrivalRate(self.clone())
    }

    fn weighted(&self, _: &[u64], _: usize) -> Option<Load> {
        None
    }

    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a> {
        Box::pin(arrival::run(ctx, self.start_rate, &self.stages))
    }
}
