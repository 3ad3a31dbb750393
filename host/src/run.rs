//! One run, start to summary: load the scenario, start the VUs, stop them, aggregate.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use url::Url;

use crate::client::{ClientConfig, Resolver, SystemResolver, tls};
use crate::engine::{self, EngineSettings};
use crate::executor::arrival;
use crate::executor::closed::{self, Budget, LifecycleNames};
use crate::executor::{Load, Plan};
use crate::metrics::aggregate::RunMeta;
use crate::metrics::names::LocalNames;
use crate::metrics::recorder::Batch;
use crate::metrics::summary::ScenarioInfo;
use crate::metrics::{Aggregator, Names, Recorder, Summary};
use crate::vu::{InstanceLimits, LogLimiter, ScenarioRuntime, VuCtx};

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
}

pub const DEFAULT_FUEL: u64 = 2_000_000_000;
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
            },
        }
    }
}

/// Increments the engine's epoch every 10 ms while the run lasts (drives the guests'
/// cooperative yields).
struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: wasmtime::Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("stampede-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// How a run can be stopped from outside (Ctrl-C, as k6 does): `graceful` ends the load
/// and lets running iterations finish within the graceful-stop time; `hard` cuts them
/// off at once. Either way the summary covers what was measured.
pub struct StopSignals {
    pub graceful: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    pub hard: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl StopSignals {
    pub fn none() -> Self {
        StopSignals {
            graceful: Box::pin(std::future::pending()),
            hard: Box::pin(std::future::pending()),
        }
    }

    /// First Ctrl-C: graceful stop; second: hard stop.
    pub fn ctrl_c() -> Self {
        StopSignals {
            graceful: Box::pin(async {
                let _ = tokio::signal::ctrl_c().await;
            }),
            hard: Box::pin(async {
                let _ = tokio::signal::ctrl_c().await;
                let _ = tokio::signal::ctrl_c().await;
            }),
        }
    }
}

/// Runs the load until its plan is done or `stop` says so; what was
/// measured until then is still summarised.
pub async fn run(
    cfg: RunConfig,
    stop: StopSignals,
    mut progress: impl FnMut(&str),
) -> Result<Summary> {
    let path = cfg.scenario.clone();
    let bytes: Arc<[u8]> = match &cfg.scenario_bytes {
        Some(b) => b.clone(),
        None => std::fs::read(&path)
            .with_context(|| format!("scenario {}: cannot read the file", path.display()))?
            .into(),
    };
    let engine = engine::engine(EngineSettings {
        max_instances: cfg.plan.vus,
        memory_cap: cfg.limits.memory_cap,
    })?;
    let compile_start = Instant::now();
    let loaded = engine::load_component(&engine, &path, &bytes, cfg.cache_dir.as_deref())?;
    progress(&format!(
        "scenario {} {} in {:.2?}",
        path.display(),
        if loaded.cache_hit {
            "loaded from cache"
        } else {
            "compiled"
        },
        compile_start.elapsed()
    ));
    let rt = Arc::new(ScenarioRuntime::new(
        &engine,
        &loaded.component,
        &path,
        cfg.limits,
    )?);
    let client_cfg = Arc::new({
        let mut c = ClientConfig::new(tls::client_config(&cfg.ca_certs, cfg.insecure)?);
        c.timeout = cfg.request_timeout;
        c
    });
    let resolver: Arc<dyn Resolver> = Arc::new(SystemResolver);
    let names = Arc::new(Names::new(MAX_NAMES));
    let lifecycle = LifecycleNames {
        on_start: names.intern("on_start"),
        on_stop: names.intern("on_stop"),
    };
    let scenario_name: Arc<str> = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into())
        .into();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Batch>();
    let aggregator = {
        let names = names.clone();
        tokio::spawn(async move {
            let mut agg = Aggregator::new(names);
            while let Some(batch) = rx.recv().await {
                agg.add_batch(&batch);
            }
            agg
        })
    };
    let logs = Arc::new(LogLimiter::default());
    let env: Arc<HashMap<String, String>> = Arc::new(cfg.env.iter().cloned().collect());
    let target = cfg.target.clone().map(Arc::new);
    let run_start = Instant::now();
    let started_at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let make_ctx: Arc<closed::MakeCtx> = {
        let (names, tx, logs, scenario_name) = (
            names.clone(),
            tx.clone(),
            logs.clone(),
            scenario_name.clone(),
        );
        Arc::new(move |id| {
            VuCtx::new(
                id,
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
    let budget = Arc::new(match cfg.plan.load {
        Load::Iterations(n) => Budget::iterations(n),
        _ => Budget::until_stopped(),
    });
    let pool = Arc::new(arrival::IdlePool::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    progress(&format!("running: {}", cfg.plan.describe()));
    let mut vus = tokio::task::JoinSet::new();
    for id in 1..=cfg.plan.vus {
        if cfg.plan.load.is_open() {
            vus.spawn(arrival::vu_loop(
                rt.clone(),
                make_ctx.clone(),
                id,
                pool.clone(),
                stop_rx.clone(),
                lifecycle,
            ));
        } else {
            vus.spawn(closed::vu_loop(
                rt.clone(),
                make_ctx.clone(),
                id,
                budget.clone(),
                stop_rx.clone(),
                lifecycle,
            ));
        }
    }
    drop(make_ctx);

    let mut interrupted = None;
    // The open model starts its clock once the VUs are set up (k6 pre-allocates too).
    if cfg.plan.load.is_open() {
        pool.wait_ready(cfg.plan.vus as usize, Duration::from_secs(30))
            .await;
    }
    let load_done = async {
        match cfg.plan.load {
            Load::Duration(d) => tokio::time::sleep(d).await,
            Load::Iterations(_) => std::future::pending().await,
            Load::Rate { per_sec, duration } => {
                arrival::schedule(pool.clone(), per_sec, duration, tokio::time::Instant::now())
                    .await
            }
        }
    };
    let StopSignals {
        graceful: mut interrupt,
        hard: mut hard_stop,
    } = stop;
    let all_done = async { while vus.join_next().await.is_some() {} };
    // Phase 1: the load itself.
    let finished_early = tokio::select! {
        _ = &mut interrupt => { interrupted = Some("interrupted (Ctrl-C)".to_string()); false }
        _ = load_done => false,
        _ = all_done => true,
    };
    let _ = stop_tx.send(true);
    // Phase 2: running iterations finish within the graceful stop (VUs waiting
    // between tasks stop at once), unless a hard stop comes first.
    if !finished_early {
        if interrupted.is_some() {
            progress("stopping: running iterations finish first (Ctrl-C again stops at once)");
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
    let agg = aggregator.await.context("metrics aggregator failed")?;
    let mut warnings = Vec::new();
    let suppressed = logs.suppressed.load(Ordering::Relaxed);
    if suppressed > 0 {
        warnings.push(format!(
            "{suppressed} scenario log lines were suppressed (more than 20 per second)"
        ));
    }
    Ok(agg.summary(RunMeta {
        scenario: ScenarioInfo {
            name: scenario_name.to_string(),
            file: path.display().to_string(),
            sha256: loaded.sha256,
        },
        target: cfg.target.map(|t| t.to_string()),
        started_at_ms,
        duration_s: duration.as_secs_f64(),
        model: if cfg.plan.load.is_open() {
            "open"
        } else {
            "closed"
        }
        .into(),
        vus_max: cfg.plan.vus,
        interrupted,
        warnings,
        dropped_iterations: pool.dropped.load(Ordering::Relaxed),
    }))
}
