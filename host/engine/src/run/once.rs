//! The scenario's once-per-run work (its optional `run` export): `setup` before any VU
//! starts, `teardown` after the last one stopped, each on an instance of its own as VU 0
//! (k6's `__VU` in setup), its requests recorded with the run's.

use std::sync::Arc;
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

/// Runs `setup` when the scenario has one and hands its data to every VU. `Ok(None)`:
/// nothing to do once; `Err`: why the run must not start its load.
pub(super) async fn setup(shared: &VuShared, limit: Duration) -> Result<Option<Teardown>, String> {
    if !shared.rt.has_setup() {
        return Ok(None);
    }
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
    let _ = shared.setup_data.set(data.as_deref().map(Arc::from));
    Ok(Some(Teardown {
        rt: shared.rt.clone(),
        make_ctx: shared.make_ctx.clone(),
        data,
    }))
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
