//! The scenario's own plan and gate (k6's `options`, the optional `run.options`
//! export), read before the load is planned, and after the run its own report (k6's
//! `handleSummary`, the `summary` export): the component is loaded as for a run of one
//! VU, and an instance of its own, as VU 0, is asked. What the caller makes of the JSON
//! (and which settings override it, where the outputs go) is the CLI's business.

use std::time::Duration;

use anyhow::Result;

use super::signals::EpochTicker;
use super::{Progress, RunConfig, prepare};
use crate::executor::{Load, Plan};

/// How long `options` may take: it returns data the init code already computed.
const OPTIONS_TIME_LIMIT: Duration = Duration::from_secs(30);

/// How long `handleSummary` may take: it formats figures the host computed.
const SUMMARY_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Whether the component may export `run` at all: the export's name is in its bytes.
/// Components without it (most) are not loaded twice.
pub fn may_state_options(bytes: &[u8]) -> bool {
    names(bytes, b"stampede:scenario/run@")
}

/// Whether the component may export `summary` (a k6 script's `handleSummary`): only
/// such components are loaded again after the run.
pub fn may_handle_summary(bytes: &[u8]) -> bool {
    names(bytes, b"stampede:scenario/summary@")
}

fn names(bytes: &[u8], interface: &[u8]) -> bool {
    bytes.windows(interface.len()).any(|w| w == interface)
}

/// What `run.options` returned, `None` when the scenario has no such export or it
/// returned none. Runs on a thread of its own: the caller may be inside a runtime.
pub fn script_options(
    cfg: &RunConfig,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Option<String>> {
    match once(cfg, progress, Ask::Options)? {
        Answer::Options(o) => Ok(o),
        Answer::Summary(_) => unreachable!("asked for the options"),
    }
}

/// What a k6 script's `handleSummary` returned for k6's summary `data` (JSON): each
/// destination and what to write there; `None` when the scenario exports none.
pub fn script_summary(
    cfg: &RunConfig,
    data: String,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Option<Vec<(String, String)>>> {
    match once(cfg, progress, Ask::Summary(data))? {
        Answer::Summary(s) => Ok(s),
        Answer::Options(_) => unreachable!("asked for the summary"),
    }
}

enum Ask {
    Options,
    Summary(String),
}

enum Answer {
    Options(Option<String>),
    Summary(Option<Vec<(String, String)>>),
}

/// One call on an instance of its own, on a thread of its own: the caller may be
/// inside a runtime.
fn once(cfg: &RunConfig, progress: &mut (dyn FnMut(Progress) + Send), ask: Ask) -> Result<Answer> {
    let mut probe = cfg.clone();
    probe.plan = Plan::new(1, Load::iterations(1));
    probe.aborts.clear();
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(read(&probe, progress, ask))
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("asking the scenario panicked")))
    })
}

async fn read(
    cfg: &RunConfig,
    progress: &mut (dyn FnMut(Progress) + Send),
    ask: Ask,
) -> Result<Answer> {
    let prepared = prepare::prepare(cfg, &mut |p| progress(p), true)?;
    let rt = &prepared.shared.rt;
    let has = match ask {
        Ask::Options => rt.has_options(),
        Ask::Summary(_) => rt.has_summary(),
    };
    if !has {
        return Ok(match ask {
            Ask::Options => Answer::Options(None),
            Ask::Summary(_) => Answer::Summary(None),
        });
    }
    let _ticker = EpochTicker::start(prepared.engine.clone());
    let path = cfg.scenario.display();
    let what = match ask {
        Ask::Options => "options",
        Ask::Summary(_) => "handleSummary",
    };
    let mut vu = super::once::instance(rt, &*prepared.shared.make_ctx, what)
        .await
        .map_err(|e| anyhow::anyhow!("scenario {path}: {e}"))?;
    let failed =
        |e: crate::vu::CallError| anyhow::anyhow!("scenario {path}: {what}: {}", e.message());
    Ok(match ask {
        Ask::Options => Answer::Options(vu.options(OPTIONS_TIME_LIMIT).await.map_err(failed)?),
        Ask::Summary(data) => Answer::Summary(
            vu.handle_summary(data, SUMMARY_TIME_LIMIT)
                .await
                .map_err(failed)?,
        ),
    })
}
