//! k6 `constant-vus`: a fixed number of VUs loop for a duration.

use std::sync::Arc;
use std::time::Duration;

use super::closed::{self, Budget};
use super::segment::Segment;
use super::{Executor, Load, LoadCtx, LoadFuture, Plan, Requirements, fmt_d};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConstantVus {
    pub duration: Duration,
}

impl Executor for ConstantVus {
    fn kind(&self) -> &'static str {
        "constant-vus"
    }

    fn validate(&self) -> Result<(), String> {
        if self.duration.is_zero() {
            return Err("--duration 0s: the run needs some time".into());
        }
        Ok(())
    }

    fn describe(&self, plan: &Plan) -> Vec<String> {
        vec![format!(
            "constant-vus: {} VUs for {} (graceful stop {})",
            plan.vus,
            fmt_d(self.duration),
            plan.grace()
        )]
    }

    fn requirements(&self, _: &Plan) -> Requirements {
        Requirements {
            duration: Some(self.duration),
            iterations: None,
        }
    }

    fn split(&self, _: &Segment, _: &Plan) -> Load {
        Load::ConstantVus(*self)
    }

    fn weighted(&self, _: &[u64], _: usize) -> Option<Load> {
        Some(Load::ConstantVus(*self))
    }

    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a> {
        let budget = Arc::new(Budget::until_stopped());
        Box::pin(closed::run(
            ctx,
            move |_| budget.clone(),
            None,
            |_| tokio::time::sleep(self.duration),
        ))
    }
}
