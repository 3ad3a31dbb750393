//! The parts of a VU's life every executor shares: bringing a user up, recording a
//! failed lifecycle call, tearing it down, pausing until the run stops.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::metrics::Event;
use crate::metrics::names::NameId;
use crate::vu::{CallError, ScenarioRuntime, Vu, VuCtx};

/// Ids of the lifecycle "tasks" used to report setup and teardown failures.
#[derive(Debug, Clone, Copy)]
pub struct LifecycleNames {
    pub on_start: NameId,
    pub on_stop: NameId,
}

/// Builds a fresh VU context (a new instance is a new user: fresh connections and
/// cookies).
pub type MakeCtx = dyn Fn(u32) -> VuCtx + Send + Sync;

/// What every VU of a run shares.
pub struct VuShared {
    pub rt: Arc<ScenarioRuntime>,
    pub make_ctx: Arc<MakeCtx>,
    pub lifecycle: LifecycleNames,
    /// What the scenario's once-per-run `setup` returned; every VU reads it.
    pub setup_data: Arc<std::sync::OnceLock<Option<Arc<str>>>>,
    /// The live VU gauge: instantiated VUs looping (closed model) or running an
    /// iteration (open).
    pub active: Arc<Gauge>,
    /// VUs that could not be instantiated: the run did not run the load asked.
    pub failures: Arc<SetupFailures>,
}

/// The live VU gauge, and the VUs that ever started.
#[derive(Debug, Default)]
pub struct Gauge {
    now: AtomicU32,
    /// VUs that got an instance at least once: the run's `vus_max`.
    started: AtomicU32,
    /// Iterations an open model could not start (no VU free), counted as they go so
    /// live outputs show them.
    dropped: AtomicU64,
}

impl Gauge {
    /// A VU got its first instance.
    pub fn started_one(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    pub fn started(&self) -> u32 {
        self.started.load(Ordering::Relaxed)
    }

    pub fn dropped_one(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn get(&self) -> u32 {
        self.now.load(Ordering::Relaxed)
    }
}

/// Counts one VU in the gauge while it lives (so an aborted VU is counted out too).
pub struct Active(Arc<Gauge>);

impl Active {
    pub fn new(gauge: &Arc<Gauge>) -> Self {
        gauge.now.fetch_add(1, Ordering::Relaxed);
        Active(gauge.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

/// VUs whose instance could not be created. The first one stops the load (the run
/// can no longer run what was asked) and makes the run fail, with its reason.
#[derive(Debug, Default)]
pub struct SetupFailures {
    count: AtomicU32,
    first: Mutex<Option<String>>,
    notify: tokio::sync::Notify,
}

impl SetupFailures {
    fn record(&self, message: &str) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(
                crate::metrics::names::clip(message, crate::metrics::names::MAX_MESSAGE_BYTES)
                    .into_owned(),
            );
            self.notify.notify_one();
        }
    }

    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn first(&self) -> Option<String> {
        self.first.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Resolves once a VU could not be instantiated, with its message.
    pub async fn wait(&self) -> String {
        loop {
            let notified = self.notify.notified();
            if let Some(m) = self.first() {
                return m;
            }
            notified.await;
        }
    }
}

/// A new instance for VU `id` with its tasks' metric ids; on failure the error is
/// recorded and `None` returned.
pub async fn instantiate(shared: &VuShared, id: u32) -> Option<(Vu, Vec<NameId>)> {
    let (rt, make_ctx): (&ScenarioRuntime, &MakeCtx) = (&shared.rt, &*shared.make_ctx);
    match Vu::instantiate(rt, make_ctx(id)).await {
        Ok(mut v) => {
            let names: Vec<String> = v.tasks.iter().map(|t| t.name.clone()).collect();
            let ids = names.iter().map(|n| v.ctx().names.intern(n)).collect();
            Some((v, ids))
        }
        Err(message) => {
            shared.failures.record(&message);
            // Nothing to run with: the context built only to report it is dropped,
            // which sends the report.
            let mut ctx = make_ctx(id);
            ctx.recorder.record(Event::LifecycleError {
                message: crate::metrics::names::clip(
                    &message,
                    crate::metrics::names::MAX_MESSAGE_BYTES,
                )
                .into(),
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
