//! The scenario's once-per-run work (its optional `run` export): `setup` before any VU
//! starts, `teardown` after the last one stopped, each on an instance of its own as VU 0
//! (k6's `__VU` in setup), its requests recorded with the run's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::executor::user::{MakeCtx, VuShared};
use crate::vu::{ScenarioRuntime, Vu};

/// The most data `setup` may hand the VUs: every VU copies it into its own memory.
pub const MAX_SETUP_DATA: usize = 4 << 20;

/// What teardown needs, kept past the point where the VUs' shared state is dropped.
pub(super) struct Teardown {
    rt: Arc<ScenarioRuntime>,
    make_ctx: Arc<MakeCtx>,
    data: Option<String>,
}

/// A fresh instance as VU 0.
pub(super) async fn instance(
    rt: &ScenarioRuntime,
    make_ctx: &MakeCtx,
    what: &str,
) -> Result<Vu, String> {
    let mut ctx = make_ctx(0);
    ctx.id = 0;
    Vu::instantiate(rt, ctx)
        .await
        .map_err(|e| format!("{what}(): {e}"))
}

/// Scenarios that run one script (k6's `scenarios`): its setup runs once, for the first
/// of them to start, and its data reaches them all; its teardown runs once, when the
/// last of them has stopped.
#[derive(Debug)]
pub struct OnceGroup {
    setup: tokio::sync::OnceCell<Result<Option<Arc<str>>, String>>,
    left: AtomicUsize,
}

impl OnceGroup {
    pub fn new(members: usize) -> Arc<Self> {
        Arc::new(OnceGroup {
            setup: tokio::sync::OnceCell::new(),
            left: AtomicUsize::new(members),
        })
    }

    /// A member has stopped; with the last, the teardown to run (setup's data, if
    /// setup ran and succeeded) with that member's instance.
    pub(super) fn leave(
        &self,
        rt: Arc<ScenarioRuntime>,
        make_ctx: Arc<MakeCtx>,
    ) -> Option<Teardown> {
        if self.left.fetch_sub(1, Ordering::AcqRel) != 1 {
            return None;
        }
        let Some(Ok(data)) = self.setup.get() else {
            return None;
        };
        Some(Teardown {
            rt,
            make_ctx,
            data: data.as_deref().map(str::to_string),
        })
    }
}

/// Runs `setup` when the scenario has one and hands its data to every VU. `Ok(None)`:
/// nothing to do once (or, in a group, teardown is the last member's); `Err`: why the
/// run must not start its load.
pub(super) async fn setup(
    shared: &VuShared,
    limit: Duration,
    group: Option<&OnceGroup>,
) -> Result<Option<Teardown>, String> {
    if !shared.rt.has_setup() {
        return Ok(None);
    }
    let Some(group) = group else {
        let data = run_setup(shared, limit).await?;
        let _ = shared.setup_data.set(data.clone());
        return Ok(Some(Teardown {
            rt: shared.rt.clone(),
            make_ctx: shared.make_ctx.clone(),
            data: data.as_deref().map(str::to_string),
        }));
    };
    // Another member may be running it: this one waits (and takes over if that one
    // is stopped before it finishes).
    let data = group
        .setup
        .get_or_init(|| run_setup(shared, limit))
        .await
        .clone()?;
    let _ = shared.setup_data.set(data);
    Ok(None)
}

/// Runs `setup` on an instance of its own: its data, checked against the cap.
async fn run_setup(shared: &VuShared, limit: Duration) -> Result<Option<Arc<str>>, String> {
    let mut vu = instance(&shared.rt, &*shared.make_ctx, "setup").await?;
    let result = vu.setup(limit).await;
    vu.ctx().recorder.flush();
    let data = result.map_err(|e| format!("setup() failed: {}", e.message()))?;
    if let Some(d) = &data
        && d.len() > MAX_SETUP_DATA
    {
        return Err(format!(
            "setup() returned {} KiB of data, more than the {} KiB every VU may be handed; pass large test data with --data instead",
            d.len() >> 10,
            MAX_SETUP_DATA >> 10
        ));
    }
    Ok(data.as_deref().map(Arc::from))
}

impl Teardown {
    /// Runs `teardown` with setup's data; why it failed, if it did.
    pub(super) async fn run(self, limit: Duration) -> Option<String> {
        let mut vu = match instance(&self.rt, &*self.make_ctx, "teardown").await {
            Ok(vu) => vu,
            Err(e) => return Some(e),
        };
        let result = vu.teardown(self.data, limit).await;
        vu.ctx().recorder.flush();
        result
            .err()
            .map(|e| format!("teardown() failed: {}", e.message()))
    }
}
