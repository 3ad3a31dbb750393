//! The scenario's own plan and gate (k6's `options`, the optional `run.options`
//! export), read before the load is planned: the component is loaded as for a run of
//! one VU, and an instance of its own, as VU 0, is asked for them. What the caller
//! makes of the JSON (and which settings override it) is the CLI's business.

use std::time::Duration;

use anyhow::Result;

use super::signals::EpochTicker;
use super::{Progress, RunConfig, prepare};
use crate::executor::{Load, Plan};

/// How long `options` may take: it returns data the init code already computed.
const OPTIONS_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Whether the component may export `run` at all: the export's name is in its bytes.
/// Components without it (most) are not loaded twice.
pub fn may_state_options(bytes: &[u8]) -> bool {
    let needle = b"stampede:scenario/run@";
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// What `run.options` returned, `None` when the scenario has no such export or it
/// returned none. Runs on a thread of its own: the caller may be inside a runtime.
pub fn script_options(
    cfg: &RunConfig,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Option<String>> {
    let mut probe = cfg.clone();
    probe.plan = Plan::new(1, Load::iterations(1));
    probe.aborts.clear();
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(read(&probe, progress))
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("reading the scenario's options panicked")))
    })
}

async fn read(
    cfg: &RunConfig,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Option<String>> {
    let prepared = prepare::prepare(cfg, &mut |p| progress(p), true)?;
    if !prepared.shared.rt.has_options() {
        return Ok(None);
    }
    let _ticker = EpochTicker::start(prepared.engine.clone());
    let path = cfg.scenario.display();
    let mut vu = super::once::instance(&prepared.shared.rt, &*prepared.shared.make_ctx, "options")
        .await
        .map_err(|e| anyhow::anyhow!("scenario {path}: {e}"))?;
    let r = vu.options(OPTIONS_TIME_LIMIT).await;
    r.map_err(|e| anyhow::anyhow!("scenario {path}: options: {}", e.message()))
}
