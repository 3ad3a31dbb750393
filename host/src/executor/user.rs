//! The parts of a VU's life every executor shares: bringing a user up, recording a
//! failed lifecycle call, tearing it down, pausing until the run stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::closed::{LifecycleNames, MakeCtx};
use crate::metrics::Event;
use crate::metrics::names::NameId;
use crate::vu::{CallError, ScenarioRuntime, Vu};

/// What every VU of a run shares.
pub struct VuShared {
    pub rt: Arc<ScenarioRuntime>,
    pub make_ctx: Arc<MakeCtx>,
    pub lifecycle: LifecycleNames,
    /// The live VU gauge: VUs looping (closed model) or running an iteration (open).
    pub active: Arc<AtomicU32>,
}

/// Counts one VU in the gauge while it lives (so an aborted VU is counted out too).
pub struct Active(Arc<AtomicU32>);

impl Active {
    pub fn new(gauge: &Arc<AtomicU32>) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Active(gauge.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A new instance for VU `id` with its tasks' metric ids; on failure the error is
/// recorded and `None` returned.
pub async fn instantiate(
    rt: &ScenarioRuntime,
    make_ctx: &MakeCtx,
    id: u32,
) -> Option<(Vu, Vec<NameId>)> {
    match Vu::instantiate(rt, make_ctx(id)).await {
        Ok(mut v) => {
            let names: Vec<String> = v.tasks.iter().map(|t| t.name.clone()).collect();
            let ids = names.iter().map(|n| v.ctx().names.intern(n)).collect();
            Some((v, ids))
        }
        Err(message) => {
            // Nothing to run with: the context built only to report it is dropped,
            // which sends the report.
            let mut ctx = make_ctx(id);
            ctx.recorder.record(Event::LifecycleError {
                message: message.into(),
            });
            None
        }
    }
}

/// Records a failed call as a failed iteration of `task`.
pub fn record_failure(v: &mut Vu, task: NameId, at_ms: u32, begin: Instant, e: &CallError) {
    v.ctx().recorder.record(Event::Iteration {
        task,
        at_ms,
        duration_us: begin.elapsed().as_micros() as u64,
        error: Some(e.message().into()),
    });
}

/// Runs `on_stop` and sends what the VU still holds.
pub async fn stop(mut v: Vu, lifecycle: LifecycleNames) {
    let at_ms = v.ctx().now_ms();
    let begin = Instant::now();
    if let Err(e) = v.on_stop().await {
        record_failure(&mut v, lifecycle.on_stop, at_ms, begin, &e);
    }
    v.ctx().recorder.flush();
}

/// Sleeps unless the run stops first; true when it stopped.
pub async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    let stopped = tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    stopped || *stop.borrow()
}
