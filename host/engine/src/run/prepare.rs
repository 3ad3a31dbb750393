//! A run's preparation: the component loaded on an engine sized for it, the client's
//! settings and network policy, the metric names and aggregator, and how each VU is
//! made. Nothing here starts a VU.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use super::monitor::Monitor;
use super::{MAX_NAMES, Progress, RunConfig};
use crate::client::cookies::CookieLimits;
use crate::client::policy::{NetPolicy, PolicyResolver};
use crate::client::{ClientConfig, FixedResolver, Resolver, SystemResolver, tls};
use crate::engine::{self, EngineSettings};
use crate::executor::user::{Gauge, LifecycleNames, MakeCtx, SetupFailures, VuShared};
use crate::metrics::aggregate::RunMeta;
use crate::metrics::names::LocalNames;
use crate::metrics::recorder::{Backlog, Batch};
use crate::metrics::summary::ScenarioInfo;
use crate::metrics::{Names, Recorder};
use crate::vu::{LogLimiter, ScenarioRuntime, VuCtx};

/// A run ready to start its VUs.
pub(super) struct Prepared {
    pub engine: wasmtime::Engine,
    /// What every VU shares, its gauge and setup failures among it.
    pub shared: Arc<VuShared>,
    pub monitor: Monitor,
    /// The summary's fixed part.
    pub meta: RunMeta,
    /// The run's time zero.
    pub run_start: Instant,
    pub client_limits: Arc<CookieLimits>,
    /// What the VUs recorded and the aggregator has not taken in.
    pub backlog: Arc<Backlog>,
    pub logs: Arc<LogLimiter>,
}

/// The component loaded and its VUs makeable: the slow part of a preparation, done
/// before the run's time zero is taken.
pub(super) struct Loaded {
    engine: wasmtime::Engine,
    sha256: String,
    rt: Arc<ScenarioRuntime>,
}

/// A whole preparation with the time zero taken at once (`cfg.epoch`, or now).
/// `options_only`: for reading the scenario's options, which sends nothing (a
/// locustfile's options may name the target the run lacks).
pub(super) fn prepare(
    cfg: &RunConfig,
    progress: &mut impl FnMut(Progress),
    options_only: bool,
) -> Result<Prepared> {
    let loaded = load(cfg, progress, options_only)?;
    assemble(cfg, loaded, cfg.epoch.unwrap_or_else(Instant::now))
}

/// Loads (compiling on a cache miss) the scenario's component on an engine sized for it.
pub(super) fn load(
    cfg: &RunConfig,
    progress: &mut impl FnMut(Progress),
    options_only: bool,
) -> Result<Loaded> {
    let path = &cfg.scenario;
    let bytes: Arc<[u8]> = match &cfg.scenario_bytes {
        Some(b) => b.clone(),
        None => std::fs::read(path)
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
        path,
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
        "scenario {} {} in {}{}",
        path.display(),
        if loaded.cache_hit {
            "loaded from cache"
        } else {
            "compiled"
        },
        crate::report::fmt::secs(compile_start.elapsed().as_secs_f64()),
        loaded.code_reuse.map_or(String::new(), |r| format!(
            " ({} of {} functions reused from earlier compilations)",
            r.reused,
            r.reused + r.compiled
        ))
    )));
    let rt = Arc::new(ScenarioRuntime::new(
        &engine,
        &loaded.component,
        path,
        cfg.limits,
    )?);
    if cfg.target.is_none() && cfg.allow_hosts.is_empty() && !options_only {
        anyhow::bail!(
            "no target: with no --target (target in stampede.toml) and no --allow-host, no request could go anywhere; pass --target URL, e.g. --target http://127.0.0.1:8080"
        );
    }
    Ok(Loaded {
        engine,
        sha256: loaded.sha256,
        rt,
    })
}

/// The rest of a preparation, on the run's time zero `run_start`.
pub(super) fn assemble(cfg: &RunConfig, loaded: Loaded, run_start: Instant) -> Result<Prepared> {
    let Loaded { engine, sha256, rt } = loaded;
    let path = &cfg.scenario;
    let client_limits = Arc::new(CookieLimits::new(cfg.max_cookies, cfg.max_cookie_bytes));
    let client_cfg = Arc::new({
        let mut c = ClientConfig::new(tls::client_config(&cfg.ca_certs, cfg.insecure)?);
        c.timeout = cfg.request_timeout;
        c.max_body = cfg.max_body;
        c.truncate_bodies = cfg.truncate_bodies;
        c.cookie_limits = client_limits.clone();
        c.trace_context = cfg.trace_context;
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
    let tag_sets = Arc::new(Names::new(crate::metrics::tags::MAX_TAG_SETS));
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
            sha256: sha256.clone(),
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
            h.update(sha256.as_bytes());
            h.update(if cfg.plan_id.is_empty() {
                cfg.plan.describe().join("\n")
            } else {
                cfg.plan_id.clone()
            });
            format!("{:x}", h.finalize())
        },
    };
    let backlog = Arc::new(Backlog::default());
    let gauge = Arc::new(Gauge::default());
    let monitor = Monitor::spawn(
        names.clone(),
        rx,
        backlog.clone(),
        cfg.aborts.clone(),
        (&cfg.request_tags, &cfg.check_tags, tag_sets.clone()),
        meta.clone(),
        cfg.live.as_ref().map(|board| {
            (
                board.publisher(scenario_name.clone(), cfg.tags.clone(), started_at_ms),
                gauge.clone(),
            )
        }),
    );
    let logs = Arc::new(LogLimiter::new(if cfg.verbose {
        u64::MAX
    } else {
        crate::vu::LOG_LINES_PER_SEC
    }));
    let env: Arc<HashMap<String, String>> = Arc::new(cfg.env.iter().cloned().collect());
    let target = cfg.target.clone().map(Arc::new);
    let setup_data = Arc::new(std::sync::OnceLock::new());
    let (data, arrays) = (
        cfg.data.clone(),
        cfg.shared_arrays.clone().unwrap_or_else(|| {
            Arc::new(crate::data::SharedArrays::new(
                crate::data::shared::DEFAULT_MAX_BYTES,
            ))
        }),
    );
    let make_ctx: Arc<MakeCtx> = {
        let (names, tx, logs, scenario_name, backlog) = (
            names.clone(),
            tx.clone(),
            logs.clone(),
            scenario_name.clone(),
            backlog.clone(),
        );
        let offset = cfg.vu_id_offset;
        let setup_data = setup_data.clone();
        Arc::new(move |id| {
            let mut ctx = VuCtx::new(
                id + offset,
                scenario_name.clone(),
                env.clone(),
                target.clone(),
                client_cfg.clone(),
                resolver.clone(),
                Recorder::new(tx.clone(), backlog.clone()),
                LocalNames::new(names.clone()),
                LocalNames::new(tag_sets.clone()),
                run_start,
                logs.clone(),
            );
            ctx.setup_data = setup_data.clone();
            ctx.data.set = data.clone();
            ctx.data.arrays = Some(arrays.clone());
            ctx
        })
    };
    drop(tx);

    let shared = Arc::new(VuShared {
        rt,
        make_ctx,
        lifecycle,
        setup_data,
        active: gauge,
        failures: Arc::new(SetupFailures::default()),
    });
    Ok(Prepared {
        engine,
        shared,
        monitor,
        meta,
        run_start,
        client_limits,
        backlog,
        logs,
    })
}
