//! One run, start to summary: load the scenario, start the VUs, stop them, aggregate.

mod many;
mod monitor;
mod signals;

pub use many::run_all;
pub use signals::StopSignals;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use url::Url;

use crate::client::policy::{NetPolicy, PolicyResolver};
use crate::client::{ClientConfig, FixedResolver, Resolver, SystemResolver, tls};
use crate::engine::{self, EngineSettings};
use crate::executor::user::{Gauge, LifecycleNames, MakeCtx, SetupFailures, VuShared};
use crate::executor::{LoadCtx, LoadEnd, Plan};
use crate::gate::AbortRule;
use crate::metrics::aggregate::{Live, RunMeta};
use crate::metrics::names::LocalNames;
use crate::metrics::recorder::Batch;
use crate::metrics::summary::ScenarioInfo;
use crate::metrics::{Names, Recorder, Summary};
use crate::vu::{InstanceLimits, LogLimiter, ScenarioRuntime, VuCtx};
use signals::{EpochTicker, peak_rss_kib};

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
    /// Thresholds that stop the run as soon as they are lost.
    pub aborts: Vec<AbortRule>,
    /// The scenario's name in metrics and reports (default: the file's stem).
    pub name: Option<String>,
    /// The run's time zero, shared by scenarios running together (default: now).
    pub epoch: Option<Instant>,
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
    /// Print every scenario log line (`--verbose`), not 20 a second.
    pub verbose: bool,
    /// This process's share of a run split over several (`--segment`), and the id of
    /// its first VU less one.
    pub segment: Option<crate::executor::segment::Segment>,
    pub vu_id_offset: u32,
    /// Identifies the whole run's plan (before splitting), for the summary's
    /// fingerprint.
    pub plan_id: String,
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
            aborts: Vec::new(),
            name: None,
            epoch: None,
            start_delay: Duration::ZERO,
            tags: Default::default(),
            allow_hosts: Vec::new(),
            resolve: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            truncate_bodies: false,
            verbose: false,
            segment: None,
            vu_id_offset: 0,
            plan_id: String::new(),
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
    mut progress: impl FnMut(Progress),
) -> Result<Summary> {
    let path = cfg.scenario.clone();
    let bytes: Arc<[u8]> = match &cfg.scenario_bytes {
        Some(b) => b.clone(),
        None => std::fs::read(&path)
            .with_context(|| format!("scenario {}: cannot read the file", path.display()))?
            .into(),
    };
    let compile_start = Instant::now();
    let settings = EngineSettings {
        max_instances: cfg.plan.max_vus,
        memory_cap: cfg.limits.memory_cap,
        fuel: cfg.limits.fuel_per_call > 0,
        epoch: cfg.limits.epoch,
    };
    let cached = cfg.cache_dir.is_some();
    let (engine, loaded) = engine::load_sized(
        settings,
        &path,
        &bytes,
        cfg.cache_dir.as_deref(),
        &mut || {
            progress(Progress::Notice(format!(
                "compiling {} ({}){}",
                path.display(),
                crate::report::fmt::bytes(bytes.len() as u64),
                if cached {
                    ", first run only: later runs load it from the cache"
                } else {
                    " (no cache: every run compiles)"
                }
            )))
        },
    )?;
    progress(Progress::Note(format!(
        "scenario {} {} in {}",
        path.display(),
        if loaded.cache_hit {
            "loaded from cache"
        } else {
            "compiled"
        },
        crate::report::fmt::secs(compile_start.elapsed().as_secs_f64())
    )));
    let rt = Arc::new(ScenarioRuntime::new(
        &engine,
        &loaded.component,
        &path,
        cfg.limits,
    )?);
    if cfg.target.is_none() && cfg.allow_hosts.is_empty() {
        anyhow::bail!(
            "no target: with no --target (target in stampede.toml) and no --allow-host, no request could go anywhere; pass --target URL, e.g. --target http://127.0.0.1:8080"
        );
    }
    let client_limits = Arc::new(crate::client::cookies::CookieLimits::default());
    let client_cfg = Arc::new({
        let mut c = ClientConfig::new(tls::client_config(&cfg.ca_certs, cfg.insecure)?);
        c.timeout = cfg.request_timeout;
        c.max_body = cfg.max_body;
        c.truncate_bodies = cfg.truncate_bodies;
        c.cookie_limits = client_limits.clone();
        c
    });
    // Deny by default: the target, the allowed hosts, and no internal address they
    // were not allowed to have.
    let resolver: Arc<dyn Resolver> = Arc::new(PolicyResolver {
        policy: NetPolicy::new(cfg.target.as_ref(), &cfg.allow_hosts)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        inner: Arc::new(FixedResolver {
            fixed: cfg.resolve.clone(),
            inner: Arc::new(SystemResolver),
        }),
    });
    let names = Arc::new(Names::new(MAX_NAMES));
    let lifecycle = LifecycleNames {
        on_start: names.intern("on_start"),
        on_stop: names.intern("on_stop"),
    };
    let scenario_name: Arc<str> = match &cfg.name {
        Some(n) => n.as_str().into(),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into())
            .into(),
    };
    let run_start = cfg.epoch.unwrap_or_else(Instant::now);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Batch>();
    // The time zero may lie ahead (`--start-at`).
    let now = Instant::now();
    let zero = if run_start > now {
        SystemTime::now() + (run_start - now)
    } else {
        SystemTime::now() - (now - run_start)
    };
    let started_at_ms = zero
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let open = cfg.plan.load.is_open();
    let meta = RunMeta {
        scenario: ScenarioInfo {
            name: scenario_name.to_string(),
            file: path.display().to_string(),
            sha256: loaded.sha256.clone(),
            tags: cfg.tags.clone(),
        },
        target: cfg.target.as_ref().map(|t| t.to_string()),
        started_at_ms,
        duration_s: 0.0,
        model: if open { "open" } else { "closed" }.into(),
        vus_max: cfg.plan.vus,
        interrupted: None,
        aborted: None,
        warnings: Vec::new(),
        run_errors: Vec::new(),
        dropped_iterations: 0,
        segment: cfg.segment.map(|s| s.info()),
        peak_rss_kib: 0,
        fingerprint: {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(loaded.sha256.as_bytes());
            h.update(if cfg.plan_id.is_empty() {
                cfg.plan.describe().join("\n")
            } else {
                cfg.plan_id.clone()
            });
            format!("{:x}", h.finalize())
        },
    };
    let monitor = monitor::Monitor::spawn(names.clone(), rx, cfg.aborts.clone(), meta.clone());
    let logs = Arc::new(LogLimiter::new(if cfg.verbose {
        u64::MAX
    } else {
        crate::vu::LOG_LINES_PER_SEC
    }));
    let env: Arc<HashMap<String, String>> = Arc::new(cfg.env.iter().cloned().collect());
    let target = cfg.target.clone().map(Arc::new);
    let make_ctx: Arc<MakeCtx> = {
        let (names, tx, logs, scenario_name) = (
            names.clone(),
            tx.clone(),
            logs.clone(),
            scenario_name.clone(),
        );
        let offset = cfg.vu_id_offset;
        Arc::new(move |id| {
            VuCtx::new(
                id + offset,
                scenario_name.clone(),
                env.clone(),
                target.clone(),
                client_cfg.clone(),
                resolver.clone(),
                Recorder::new(tx.clone()),
                LocalNames::new(names.clone()),
                run_start,
                logs.clone(),
            )
        })
    };
    drop(tx);

    let _ticker = EpochTicker::start(engine.clone());
    let active = Arc::new(Gauge::default());
    let failures = Arc::new(SetupFailures::default());
    let shared = Arc::new(VuShared {
        rt: rt.clone(),
        make_ctx,
        lifecycle,
        active: active.clone(),
        failures: failures.clone(),
    });
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
    let StopSignals {
        graceful: mut interrupt,
        hard: mut hard_stop,
        abort: mut abort_signal,
    } = stop;
    let mut interrupted = None;
    let mut aborted = None;
    // A later start: this scenario's start time, or a time zero set in the future
    // (`--start-at`, so segments on several machines begin together).
    let begin = run_start + cfg.start_delay;
    if begin > Instant::now() {
        progress(Progress::Note(if cfg.start_delay.is_zero() {
            format!(
                "waiting {:.1}s for the start time",
                (begin - Instant::now()).as_secs_f64()
            )
        } else {
            format!(
                "starts {} into the run",
                humantime::format_duration(cfg.start_delay)
            )
        }));
        let at = tokio::time::Instant::from_std(begin);
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = &mut interrupt => interrupted = Some("interrupted (Ctrl-C)".to_string()),
            why = &mut abort_signal => aborted = Some(why),
        }
    }
    let mut vus = tokio::task::JoinSet::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Interrupted before its start: no VU is set up, no load runs.
    let stopped_early = interrupted.is_some() || aborted.is_some();
    let requirements = cfg.plan.requirements();
    let load_start = std::sync::OnceLock::new();
    // Phase 1: the executor runs the load, with a look at the figures once a second.
    let end = if stopped_early {
        LoadEnd::default()
    } else {
        let (cut_tx, cut_rx) = tokio::sync::watch::channel(false);
        let load = cfg.plan.executor().run(LoadCtx {
            plan: &cfg.plan,
            shared: &shared,
            vus: &mut vus,
            vu_stop: stop_rx.clone(),
            cut: cut_rx,
            load_start: &load_start,
        });
        tokio::pin!(load);
        // Ticks on the run's whole seconds, the time base of the series.
        let next_second = run_start.elapsed().as_secs() + 1;
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::from_std(run_start) + Duration::from_secs(next_second),
            Duration::from_secs(1),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_tick = Duration::ZERO;
        // Once cut, the executor is waited for (it ends promptly) and nothing else.
        let mut cut = false;
        let end = loop {
            tokio::select! {
                end = &mut load => break end,
                _ = &mut interrupt, if !cut => {
                    interrupted = Some("interrupted (Ctrl-C)".to_string());
                    cut = true;
                }
                why = &mut abort_signal, if !cut => {
                    aborted = Some(why);
                    cut = true;
                }
                // A VU that cannot be created: the load asked for cannot run. Stop, as
                // an abort does, so the other scenarios of the run stop too.
                why = failures.wait(), if !cut => {
                    let why = format!("a VU could not be started ({why})");
                    progress(Progress::Aborted(why));
                    cut = true;
                }
                at = tick.tick(), if !cut => {
                    let vus_now = active.get();
                    // The tick's scheduled time, so each sample lands in its own second.
                    let at = at.into_std().saturating_duration_since(run_start);
                    last_tick = at;
                    let Some(report) = monitor.tick(at, vus_now).await else {
                        continue;
                    };
                    progress(Progress::Live(LiveStatus {
                        elapsed: load_start.get().map_or(Duration::ZERO, |s| s.elapsed()),
                        planned: requirements.duration,
                        planned_iterations: requirements.iterations,
                        vus: vus_now,
                        live: report.live,
                    }));
                    if let Some(why) = report.abort {
                        progress(Progress::Aborted(why.clone()));
                        aborted = Some(why);
                        cut = true;
                    }
                }
            }
            if cut {
                let _ = cut_tx.send(true);
            }
        };
        // The gauge as the load ends, in the last second the ticks reached or the
        // one after (a late wake-up must not open a second of its own).
        let last = run_start.elapsed().min(last_tick + Duration::from_secs(1));
        monitor.tick(last, active.get()).await;
        end
    };
    drop(shared);
    let _ = stop_tx.send(true);
    // Phase 2: running iterations finish within the graceful stop (VUs waiting
    // between tasks stop at once), unless a hard stop comes first.
    if !end.finished {
        if interrupted.is_some() {
            progress(Progress::Note(
                "stopping: running iterations finish first (Ctrl-C again stops at once)".into(),
            ));
        }

        let drain = async { while vus.join_next().await.is_some() {} };
        tokio::select! {
            _ = drain => {}
            _ = tokio::time::sleep(cfg.plan.graceful_stop) => {}
            _ = &mut hard_stop => {
                interrupted = Some("interrupted (Ctrl-C twice: running iterations cut off)".into());
            }
        }
        // Whatever is still running is cut off; dropping a VU flushes what it recorded.
        vus.abort_all();
        while vus.join_next().await.is_some() {}
    }
    let duration = run_start.elapsed();
    drop(rt);
    let agg = monitor.finish().await?;
    let mut warnings = Vec::new();
    let (refused, evicted) = (
        client_limits.refused.load(Ordering::Relaxed),
        client_limits.evicted.load(Ordering::Relaxed),
    );
    if refused + evicted > 0 {
        use crate::client::cookies::{
            MAX_COOKIE_BYTES, MAX_COOKIES, MAX_JAR_BYTES, MAX_PER_DOMAIN,
        };
        warnings.push(format!(
            "cookie jars: {refused} cookies refused (over {MAX_COOKIE_BYTES} bytes) and {evicted} evicted (past {MAX_PER_DOMAIN} per domain, {MAX_COOKIES} or {} KiB per VU)",
            MAX_JAR_BYTES >> 10
        ));
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
        run_errors: setup_errors(&failures, cfg.plan.vus),
        ..meta
    }))
}
