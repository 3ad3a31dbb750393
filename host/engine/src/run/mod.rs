//! One run, start to summary: prepare (load the component, make VUs makeable), let the
//! plan's executor run the load under supervision, then summarise.

mod many;
pub mod memory;
mod monitor;
mod once;
mod options;
mod prepare;
mod signals;
mod supervise;
mod together;

pub use many::run_all;
pub use once::OnceGroup;
pub use options::{may_handle_summary, may_state_options, script_options, script_summary};
pub use signals::{Cut, StopSignals};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;
use url::Url;

use crate::engine;
use crate::executor::Plan;
use crate::executor::user::SetupFailures;
use crate::gate::AbortRule;
use crate::metrics::Summary;
use crate::metrics::aggregate::{Live, RunMeta};
use crate::vu::InstanceLimits;
use prepare::Prepared;
use signals::{EpochTicker, peak_rss_kib};
use supervise::Supervised;

/// Distinct metric names (requests, checks, tasks, custom) a run keeps apart.
pub const MAX_NAMES: usize = 1000;

/// Everything a run needs, already validated (the CLI builds it).
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub scenario: PathBuf,
    /// The component bytes, when they do not come from `scenario` (the bundled demo).
    pub scenario_bytes: Option<Arc<[u8]>>,
    pub target: Option<Url>,
    pub plan: Plan,
    pub env: Vec<(String, String)>,
    pub insecure: bool,
    pub ca_certs: Vec<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub request_timeout: Duration,
    pub limits: InstanceLimits,
    /// Whether `limits.memory_cap` was chosen (a flag or the config) rather than the
    /// default, which may shrink to fit the memory budget.
    pub memory_cap_chosen: bool,
    /// The whole run's memory budget in bytes (`--max-total-memory`); `None`: a share
    /// of the machine's. Read from the first scenario.
    pub max_total_memory: Option<u64>,
    /// Thresholds that stop the run as soon as they are lost.
    pub aborts: Vec<AbortRule>,
    /// The tags the run's thresholds filter requests by (`http_req_duration{type:API}`):
    /// the requests carrying each are kept apart.
    pub request_tags: Vec<crate::metrics::tags::TagFilter>,
    /// The tags they filter checks by (`checks{myTag:x}`).
    pub check_tags: Vec<crate::metrics::tags::TagFilter>,
    /// The scenario's name in metrics and reports (default: the file's stem).
    pub name: Option<String>,
    /// The run's time zero, fixed by the caller (`--start-at`); default: when the run's
    /// scenarios are all prepared.
    pub epoch: Option<Instant>,
    /// How long before this process took it the time zero fixed by the caller had
    /// passed (`--start-at` in the past): the load started that much late.
    pub start_at_passed: Option<Duration>,
    /// When this scenario's load starts, from the time zero.
    pub start_delay: Duration,
    /// Free-form tags carried into the summary.
    pub tags: std::collections::BTreeMap<String, String>,
    /// Hosts reachable besides the target (`--allow-host`); nothing else is.
    pub allow_hosts: Vec<String>,
    /// Fixed name resolutions (`--resolve HOST:PORT:ADDR`).
    pub resolve: Vec<(String, u16, std::net::IpAddr)>,
    /// Largest response body buffered for the scenario, and largest request body.
    pub max_body: usize,
    /// Past `max_body`, keep the first part of a response body instead of failing.
    pub truncate_bodies: bool,
    /// Cookies, and bytes of them, one VU's jar keeps.
    pub max_cookies: usize,
    pub max_cookie_bytes: usize,
    /// Print every scenario log line (`--verbose`), not 20 a second.
    pub verbose: bool,
    /// This process's share of a run split over several (`--segment`), and the id of
    /// its first VU less one.
    pub segment: Option<crate::executor::segment::Segment>,
    pub vu_id_offset: u32,
    /// Identifies the whole run's plan (before splitting), for the summary's
    /// fingerprint.
    pub plan_id: String,
    /// The scenarios that are one script's (k6's `scenarios`), sharing its setup and
    /// teardown; `None`: this scenario runs them itself.
    pub once_group: Option<Arc<OnceGroup>>,
    /// How long setup and teardown may take (k6's `setupTimeout`, `teardownTimeout`);
    /// `None`: a task's timeout.
    pub setup_timeout: Option<Duration>,
    pub teardown_timeout: Option<Duration>,
    /// Where live outputs read the figures so far (`--metrics-listen`); shared by the
    /// run's scenarios.
    pub live: Option<Arc<crate::live::Board>>,
    /// `Some(sampled)`: a W3C `traceparent` on every request (`--trace-context`).
    pub trace_context: Option<bool>,
    /// The test data directory (`--data`), shared by the scenarios that name it.
    pub data: Option<Arc<crate::data::DataSet>>,
    /// k6's shared arrays, shared by the run's scenarios (`None`: this scenario's own).
    pub shared_arrays: Option<Arc<crate::data::SharedArrays>>,
}

pub const DEFAULT_FUEL: u64 = 2_000_000_000;
pub const DEFAULT_MAX_BODY: usize = 64 << 20;
pub const DEFAULT_TASK_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_MEMORY_CAP: usize = 64 << 20;

impl RunConfig {
    pub fn new(scenario: PathBuf, plan: Plan) -> Self {
        RunConfig {
            scenario,
            scenario_bytes: None,
            target: None,
            plan,
            env: Vec::new(),
            insecure: false,
            ca_certs: Vec::new(),
            cache_dir: engine::default_cache_dir(),
            request_timeout: Duration::from_secs(60),
            limits: InstanceLimits {
                fuel_per_call: DEFAULT_FUEL,
                memory_cap: DEFAULT_MEMORY_CAP,
                task_timeout: DEFAULT_TASK_TIMEOUT,
                epoch: true,
            },
            memory_cap_chosen: false,
            max_total_memory: None,
            aborts: Vec::new(),
            request_tags: Vec::new(),
            check_tags: Vec::new(),
            name: None,
            epoch: None,
            start_at_passed: None,
            start_delay: Duration::ZERO,
            tags: Default::default(),
            allow_hosts: Vec::new(),
            resolve: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            truncate_bodies: false,
            max_cookies: crate::client::cookies::MAX_COOKIES,
            max_cookie_bytes: crate::client::cookies::MAX_JAR_BYTES,
            verbose: false,
            segment: None,
            vu_id_offset: 0,
            plan_id: String::new(),
            once_group: None,
            setup_timeout: None,
            teardown_timeout: None,
            live: None,
            trace_context: None,
            data: None,
            shared_arrays: None,
        }
    }
}

/// What a run tells its caller while it goes.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A line worth printing (scenario loaded, the plan, stopping...).
    Note(String),
    /// A line printed even with `--quiet`: the run is busy before its load starts
    /// (compiling a component can take a minute).
    Notice(String),
    /// Once a second during the load.
    Live(LiveStatus),
    /// An abort_on_fail threshold was just lost: the load stops (sent at once, so the
    /// other scenarios of the run can stop too).
    Aborted(String),
}

#[derive(Debug, Clone)]
pub struct LiveStatus {
    pub elapsed: Duration,
    /// How long the load is planned to last, when it is time-bound.
    pub planned: Option<Duration>,
    /// Iterations planned, when the load is a count.
    pub planned_iterations: Option<u64>,
    pub vus: u32,
    pub live: Live,
}

/// What the run could not do, for the summary: VUs that could not be instantiated.
fn setup_errors(failures: &SetupFailures, planned_vus: u32) -> Vec<String> {
    match failures.first() {
        None => Vec::new(),
        Some(first) => {
            let n = failures.count();
            vec![format!(
                "VUs could not be started ({n} failed instantiation{}, {planned_vus} VUs planned); the load stopped at the first: {first}",
                if n == 1 { "" } else { "s" }
            )]
        }
    }
}

/// Runs the load until its plan is done or `stop` says so (or an abort-on-fail
/// threshold is lost); what was measured until then is still summarised.
pub async fn run(
    cfg: RunConfig,
    stop: StopSignals,
    progress: impl FnMut(Progress),
) -> Result<Summary> {
    run_with(cfg, stop, progress, None).await
}

/// [`run`], as one of several scenarios starting together: the time zero is taken once
/// all of them are prepared.
async fn run_with(
    cfg: RunConfig,
    stop: StopSignals,
    mut progress: impl FnMut(Progress),
    together: Option<together::Arrival>,
) -> Result<Summary> {
    let loaded = prepare::load(&cfg, &mut progress, false)?;
    let zero = match together {
        Some(arrival) => arrival.ready().await.ok_or(together::NotStarted)?,
        None => cfg.epoch.unwrap_or_else(Instant::now),
    };
    let Prepared {
        engine,
        shared,
        monitor,
        meta,
        run_start,
        client_limits,
        backlog,
        logs,
    } = prepare::assemble(&cfg, loaded, zero)?;
    let _ticker = EpochTicker::start(engine);
    let (active, failures) = (shared.active.clone(), shared.failures.clone());
    for line in cfg.plan.describe() {
        progress(Progress::Note(line));
    }
    if let Some(seg) = cfg.segment {
        progress(Progress::Note(format!(
            "segment {}/{}: VU ids from {}",
            seg.index + 1,
            seg.count,
            cfg.vu_id_offset + 1
        )));
    }
    let Supervised {
        end,
        interrupted,
        aborted,
        errors: once_errors,
        late,
    } = supervise::supervise(&cfg, shared, &monitor, run_start, stop, &mut progress).await;
    let duration = run_start.elapsed();
    let agg = monitor.finish().await?;
    let mut warnings = Vec::new();
    match (cfg.start_at_passed, late) {
        // Past before this process took it, and later still once prepared: one figure.
        (Some(passed), late) => warnings.push(format!(
            "the load started {:.1}s after --start-at, which had passed before this process could start it: segments that start apart do not measure one load together",
            (passed + late.unwrap_or_default()).as_secs_f64()
        )),
        (None, Some(by)) => warnings.push(format!(
            "the load started {:.1}s after its start time ({}), which passed while the scenario was prepared",
            by.as_secs_f64(),
            if cfg.epoch.is_some() {
                "--start-at"
            } else {
                "start_time"
            }
        )),
        (None, None) => {}
    }
    let (refused, evicted) = (
        client_limits.refused.load(Ordering::Relaxed),
        client_limits.evicted.load(Ordering::Relaxed),
    );
    if refused + evicted > 0 {
        use crate::client::cookies::{MAX_COOKIE_BYTES, MAX_PER_DOMAIN};
        warnings.push(format!(
            "cookie jars: {refused} cookies refused (over {MAX_COOKIE_BYTES} bytes) and {evicted} evicted (past {MAX_PER_DOMAIN} per domain, {} or {} KiB per VU: --max-cookies, --max-cookie-jar-kib)",
            client_limits.max_cookies,
            client_limits.max_bytes >> 10
        ));
    }
    let held = backlog.held.load(Ordering::Relaxed);
    if held > 0 {
        warnings.push(format!(
            "the scenario recorded faster than its measurements could be aggregated: its VUs were held back {held} times (at most {} events wait)",
            crate::metrics::recorder::MAX_BACKLOG
        ));
    }
    if let Some(max) = end.max_duration_reached {
        warnings.push(format!(
            "the load's time limit ({}, k6's maxDuration) ended it before all its iterations ran",
            humantime::format_duration(max)
        ));
    }
    if let Some(data) = &cfg.data {
        warnings.extend(data.warnings());
    }
    let suppressed = logs.suppressed.load(Ordering::Relaxed);
    if suppressed > 0 {
        warnings.push(format!(
            "{suppressed} scenario log lines were suppressed (more than {} per second; --verbose prints them all)",
            crate::vu::LOG_LINES_PER_SEC
        ));
    }
    Ok(agg.summary(RunMeta {
        duration_s: duration.as_secs_f64(),
        interrupted,
        aborted,
        warnings,
        dropped_iterations: end.dropped_iterations,
        peak_rss_kib: peak_rss_kib(),
        // The VUs that ran, not those asked for.
        vus_max: active.started(),
        run_errors: once_errors
            .into_iter()
            .chain(setup_errors(&failures, cfg.plan.vus))
            .collect(),
        ..meta
    }))
}
