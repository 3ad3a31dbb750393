//! One virtual user: a store and an instance of the scenario, driven through its
//! lifecycle. [`ScenarioRuntime`] holds what is shared once per run (`InstancePre`).

mod batch;
mod calls;
mod ctx;
mod data;
mod exchange;
mod host;
mod jar;
mod output;
mod trace;

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use anyhow::Result;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};
use wasmtime::{Engine, Store, Trap};

use crate::bindings::{Scenario, ScenarioIndices, user};
use crate::engine::first_line;
use crate::metrics::names::{MAX_MESSAGE_BYTES, MAX_NAME_BYTES, clip};
use crate::timeout::Timeout;
pub use ctx::{VuCtx, VuState, VuView};
pub use data::DataAccess;
pub use output::{LOG_LINES_PER_SEC, LogLimiter};

/// The version of the `stampede:scenario` WIT package this host implements.
pub const WIT_VERSION: &str = "0.2.0";

/// Per-call limits of one instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Fuel (about one unit per wasm instruction) per lifecycle call; 0 meters none.
    pub fuel_per_call: u64,
    pub memory_cap: usize,
    /// Wall-clock limit of one lifecycle call, however it spends it (spinning, or
    /// waiting in host calls).
    pub task_timeout: Duration,
    /// Epoch yields; off only to measure their cost (see `EngineSettings::epoch`).
    pub epoch: bool,
}

/// Once per run: the linked, pre-instantiated scenario.
pub struct ScenarioRuntime {
    pub engine: Engine,
    pre: InstancePre<VuState>,
    indices: ScenarioIndices,
    /// The optional `run` export's functions.
    run: Option<RunExports>,
    pub limits: InstanceLimits,
}

impl ScenarioRuntime {
    pub fn new(
        engine: &Engine,
        component: &Component,
        path: &Path,
        limits: InstanceLimits,
    ) -> Result<Self> {
        let mut linker: Linker<VuState> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::Error::from(e).context("linking WASI"))?;
        // `http.send` and `checks.check` are linked by hand (`calls`), the rest as generated.
        fn vu(s: &mut VuState) -> &mut VuCtx {
            &mut s.vu
        }
        crate::bindings::timing::add_to_linker::<VuState, VuView>(&mut linker, vu)
            .and_then(|()| crate::bindings::metrics::add_to_linker::<_, VuView>(&mut linker, vu))
            .and_then(|()| crate::bindings::log::add_to_linker::<_, VuView>(&mut linker, vu))
            .and_then(|()| crate::bindings::vu::add_to_linker::<_, VuView>(&mut linker, vu))
            .and_then(|()| crate::bindings::data::add_to_linker::<_, VuView>(&mut linker, vu))
            .and_then(|()| data::add_publish(&mut linker))
            .and_then(|()| calls::add_to_linker(&mut linker))
            .map_err(|e| anyhow::Error::from(e).context("linking the stampede imports"))?;
        let p = path.display();
        let pre = linker.instantiate_pre(component).map_err(|e| {
            let why = format!("{e:#}");
            let why = first_line(&why);
            // A scenario built with an SDK of another WIT version imports our interfaces
            // under that version: say so, rather than that they are missing.
            if why.contains("stampede:scenario/") && !why.contains(WIT_VERSION) {
                anyhow::anyhow!(
                    "scenario {p}: was built against another version of the stampede:scenario WIT ({why}); this stampede speaks {WIT_VERSION}: rebuild the scenario with the current SDK"
                )
            } else {
                anyhow::anyhow!(
                    "scenario {p}: needs an import stampede does not provide ({why}); build it against the stampede:scenario WIT and WASI 0.2"
                )
            }
        })?;
        let indices = ScenarioIndices::new(&pre).map_err(|e| {
            anyhow::anyhow!(
                "scenario {p}: does not export the stampede:scenario/user interface ({}); implement the user lifecycle from the stampede SDK",
                first_line(&format!("{e:#}"))
            )
        })?;
        let run = component
            .get_export_index(None, format!("stampede:scenario/run@{WIT_VERSION}"))
            .map(|run| {
                let f = |name| {
                    component.get_export_index(Some(&run), name).ok_or_else(|| {
                        anyhow::anyhow!(
                            "scenario {p}: exports stampede:scenario/run without `{name}`; export both setup and teardown (the SDKs do)"
                        )
                    })
                };
                Ok::<_, anyhow::Error>(RunExports {
                    setup: f("setup")?,
                    teardown: f("teardown")?,
                    // Components built before `options` existed have none.
                    options: component.get_export_index(Some(&run), "options"),
                    // Only k6 scripts export `summary` (their `handleSummary`).
                    summary: component
                        .get_export_index(None, format!("stampede:scenario/summary@{WIT_VERSION}"))
                        .and_then(|i| component.get_export_index(Some(&i), "handle")),
                })
            })
            .transpose()?;
        Ok(ScenarioRuntime {
            engine: engine.clone(),
            pre,
            indices,
            run,
            limits,
        })
    }

    /// Whether the scenario has once-per-run work (exports `run`).
    pub fn has_setup(&self) -> bool {
        self.run.is_some()
    }

    /// Whether the scenario states its own plan and gate (`run.options`).
    pub fn has_options(&self) -> bool {
        self.run.is_some_and(|r| r.options.is_some())
    }

    /// Whether the scenario exports `summary` (a k6 script's `handleSummary`).
    pub fn has_summary(&self) -> bool {
        self.run.is_some_and(|r| r.summary.is_some())
    }
}

/// The `run` export's functions.
#[derive(Clone, Copy)]
struct RunExports {
    setup: ComponentExportIndex,
    teardown: ComponentExportIndex,
    options: Option<ComponentExportIndex>,
    summary: Option<ComponentExportIndex>,
}

/// How a lifecycle call ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The scenario returned an error (its own failure, e.g. an unexpected status).
    Failed(String),
    /// The instance trapped or exceeded a limit; it must be replaced.
    Trap(String),
}

impl CallError {
    pub fn message(&self) -> &str {
        match self {
            CallError::Failed(m) | CallError::Trap(m) => m,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Wait {
    None,
    Constant(Duration),
    Between(Duration, Duration),
}

/// A task as the scenario declared it.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    pub name: String,
    pub weight: u32,
}

pub struct Vu {
    store: Store<VuState>,
    /// Sends the requests the guest posts to `exchange` (see `exchange::drive`).
    client: crate::client::VuClient,
    exchange: std::sync::Arc<exchange::Exchange>,
    instance: wasmtime::component::Instance,
    bindings: Scenario,
    run: Option<RunExports>,
    pub tasks: Vec<TaskInfo>,
    /// Running sums of weights, for picking by weight with one binary search.
    cumulative: Vec<u64>,
    wait: Wait,
    rng: fastrand::Rng,
    fuel: u64,
    task_timeout: Duration,
    /// The task time limit's timer, kept from one call to the next.
    timeout: Timeout,
}

fn trap_message(e: &wasmtime::Error, fuel: u64) -> String {
    let text = format!("{e:#}");
    if text.starts_with("exceeded the task time limit") {
        return text;
    }
    // StoreLimits' refusal to grow memory past the cap (the guest's allocator then
    // aborts): name the limit, not the mechanism.
    if let Some(at) = text.find("forcing trap when growing memory to ") {
        let bytes: u64 = text[at + 36..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        return format!(
            "exceeded the memory cap (--max-memory-mib): tried to grow linear memory to {} MiB",
            bytes >> 20
        );
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => format!("exceeded CPU budget of {fuel} fuel units"),
        Some(Trap::StackOverflow) => "stack overflow".to_string(),
        // Compiled languages keep their own stack in linear memory: running off its
        // end is an out-of-bounds access, almost always deep recursion.
        Some(Trap::MemoryOutOfBounds) => {
            "out of bounds memory access (likely a stack overflow of the guest's own stack: deep recursion)".to_string()
        }
        Some(Trap::Interrupt) => "interrupted: exceeded its time budget".to_string(),
        Some(t) => format!("trap: {t}"),
        None => format!("trap: {}", first_line(&format!("{e:#}"))),
    }
}

impl Vu {
    /// Instantiates the scenario for one VU and asks it for its tasks.
    pub async fn instantiate(rt: &ScenarioRuntime, ctx: VuCtx) -> Result<Vu, String> {
        let id = ctx.id;
        let (client, exchange) = (ctx.new_client(), ctx.exchange.clone());
        let state = VuState::new(ctx, rt.limits.memory_cap)?;
        let mut store = Store::new(&rt.engine, state);
        store.limiter(|s| &mut s.limits);
        // Yield to the scheduler every epoch tick: a busy guest cannot starve the
        // other VUs on its thread. Through tokio's own yield, which lets the worker
        // run its timers and I/O first: a plain re-poll would keep a spinning guest
        // ahead of every timer (a neighbour's arrival schedule among them). A guest
        // that has recorded more than the aggregator has taken in waits for it here.
        if rt.limits.epoch {
            store.epoch_deadline_callback(|cx| {
                let backlog = cx.data().vu.recorder.backlog();
                let wait: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = if backlog.over() {
                    let backlog = backlog.clone();
                    Box::pin(async move { backlog.within().await })
                } else {
                    Box::pin(tokio::task::yield_now())
                };
                Ok(wasmtime::UpdateDeadline::YieldCustom(1, wait))
            });
        }
        let fuel = rt.limits.fuel_per_call;
        if fuel > 0 {
            store.set_fuel(fuel).map_err(|e| e.to_string())?;
        }
        // Instantiation and `describe()` run guest code too: under the same time limit
        // as every lifecycle call, so one that never returns cannot hang its VU.
        let limit = rt.limits.task_timeout;
        let over = || {
            format!(
                "exceeded the task time limit of {} (--max-task-time)",
                humantime::format_duration(limit)
            )
        };
        let begin = Instant::now();
        let mut timer = Timeout::default();
        let instance = timer
            .within(begin, limit, rt.pre.instantiate_async(&mut store))
            .await
            .map_err(|_| format!("instantiating VU {id}: {}", over()))?
            .map_err(|e| format!("instantiating VU {id}: {}", trap_message(&e, fuel)))?;
        let bindings = rt
            .indices
            .load(&mut store, &instance)
            .map_err(|e| format!("instantiating VU {id}: {}", first_line(&format!("{e:#}"))))?;
        let spec = timer
            .within(
                begin,
                limit,
                bindings.stampede_scenario_user().call_describe(&mut store),
            )
            .await
            .map_err(|_| format!("describe(): {}", over()))?
            .map_err(|e| format!("describe(): {}", trap_message(&e, fuel)))?;
        let tasks: Vec<TaskInfo> = spec
            .tasks
            .into_iter()
            .map(|t| TaskInfo {
                name: clip(&t.name, MAX_NAME_BYTES).into_owned(),
                weight: t.weight,
            })
            .collect();
        let mut sum = 0u64;
        let cumulative: Vec<u64> = tasks
            .iter()
            .map(|t| {
                sum += t.weight as u64;
                sum
            })
            .collect();
        if sum == 0 {
            return Err("describe(): the scenario declares no task with a weight above 0".into());
        }
        let ms = |v: u32| Duration::from_millis(v as u64);
        let wait = match spec.wait {
            user::WaitTime::None => Wait::None,
            user::WaitTime::Constant(v) => Wait::Constant(ms(v)),
            user::WaitTime::Between((a, b)) => Wait::Between(ms(a.min(b)), ms(a.max(b))),
        };
        Ok(Vu {
            store,
            client,
            exchange,
            instance,
            bindings,
            run: rt.run,
            tasks,
            cumulative,
            wait,
            rng: fastrand::Rng::with_seed(0x5eed ^ id as u64),
            fuel,
            task_timeout: rt.limits.task_timeout,
            timeout: Timeout::default(),
        })
    }

    pub fn ctx(&mut self) -> &mut VuCtx {
        &mut self.store.data_mut().vu
    }

    /// The next task: the one the scenario scheduled, else one picked by weight.
    pub fn pick_task(&mut self) -> usize {
        if let Some(crate::bindings::vu::Next::Task(t)) = &self.store.data().vu.next {
            let i = t.task as usize;
            self.store.data_mut().vu.next = None;
            if i < self.tasks.len() {
                return i;
            }
        }
        let total = *self.cumulative.last().expect("tasks checked non-empty");
        let r = self.rng.u64(0..total);
        self.cumulative.partition_point(|&c| c <= r)
    }

    /// The pause before the next task: the scheduled one, else the declared wait time.
    pub fn wait_time(&mut self) -> Duration {
        if let Some(crate::bindings::vu::Next::Task(t)) = &self.store.data().vu.next {
            return Duration::from_millis(t.wait_ms as u64);
        }
        match self.wait {
            Wait::None => Duration::ZERO,
            Wait::Constant(d) => d,
            Wait::Between(a, b) => {
                let (a, b) = (a.as_micros() as u64, b.as_micros() as u64);
                Duration::from_micros(self.rng.u64(a..=b))
            }
        }
    }

    /// Whether the scenario ended this user (Locust's `StopUser`).
    pub fn stopped(&self) -> bool {
        matches!(
            self.store.data().vu.next,
            Some(crate::bindings::vu::Next::Stop)
        )
    }

    fn settle(&mut self, r: wasmtime::Result<Result<(), String>>) -> Result<(), CallError> {
        match r {
            Ok(Ok(())) => Ok(()),
            // A guest's message of any length is kept to a bounded size.
            Ok(Err(msg)) => Err(CallError::Failed(
                clip(&msg, MAX_MESSAGE_BYTES).into_owned(),
            )),
            Err(e) => {
                let mut msg = trap_message(&e, self.fuel);
                // What the guest said last (a panic message) explains most traps.
                if let Ok(mut last) = self.ctx().guest_stderr.lock()
                    && !last.is_empty()
                {
                    msg = format!("{msg} (guest stderr: {last})");
                    last.clear();
                }
                Err(CallError::Trap(clip(&msg, MAX_MESSAGE_BYTES).into_owned()))
            }
        }
    }

    fn refuel(&mut self) {
        if self.fuel > 0 {
            let _ = self.store.set_fuel(self.fuel);
        }
    }

    /// Runs `on_start`, its time limit counted from `begin` (the caller's clock read).
    pub async fn on_start(&mut self, begin: std::time::Instant) -> Result<(), CallError> {
        self.call(Lifecycle::Start, begin).await
    }

    /// Runs task `index`, its time limit counted from `begin`.
    pub async fn run_task(
        &mut self,
        index: usize,
        begin: std::time::Instant,
    ) -> Result<(), CallError> {
        self.call(Lifecycle::Task(index as u32), begin).await
    }

    pub async fn on_stop(&mut self) -> Result<(), CallError> {
        self.call(Lifecycle::Stop, std::time::Instant::now()).await
    }

    /// One lifecycle call: refuelled, within the task time limit, the requests it makes
    /// sent from here (see `exchange`).
    async fn call(&mut self, which: Lifecycle, begin: std::time::Instant) -> Result<(), CallError> {
        self.refuel();
        let r = {
            let (user, store) = (self.bindings.stampede_scenario_user(), &mut self.store);
            // Pinned here, in this call's state, and driven through a reference: moving
            // a future copies all of it.
            let call = std::pin::pin!(async move {
                match which {
                    Lifecycle::Start => user.call_on_start(store).await,
                    Lifecycle::Task(i) => user.call_run_task(store, i).await,
                    Lifecycle::Stop => user.call_on_stop(store).await,
                }
            });
            let call = std::pin::pin!(exchange::drive(&self.exchange, &mut self.client, call));
            limited(&mut self.timeout, begin, self.task_timeout, call).await
        };
        self.ctx().settle_pending();
        self.settle(r)
    }

    /// Runs the scenario's once-per-run `setup` (none: `Ok(None)`), within `limit`.
    pub async fn setup(&mut self, limit: Duration) -> Result<Option<String>, CallError> {
        match self.run {
            Some(r) => self.run_export(r.setup, "setup", (), limit).await,
            None => Ok(None),
        }
    }

    /// Runs the scenario's once-per-run `teardown` with what `setup` returned.
    pub async fn teardown(
        &mut self,
        data: Option<String>,
        limit: Duration,
    ) -> Result<(), CallError> {
        match self.run {
            Some(r) => {
                self.run_export(r.teardown, "teardown", (data,), limit)
                    .await
            }
            None => Ok(()),
        }
    }

    /// The scenario's own plan and gate as JSON (`run.options`; none: `Ok(None)`).
    pub async fn options(&mut self, limit: Duration) -> Result<Option<String>, CallError> {
        match self.run.and_then(|r| r.options) {
            Some(options) => self.run_export(options, "options", (), limit).await,
            None => Ok(None),
        }
    }

    /// What a k6 script's `handleSummary` returns for k6's summary `data` (JSON):
    /// destinations and what to write there (none: `Ok(None)`).
    pub async fn handle_summary(
        &mut self,
        data: String,
        limit: Duration,
    ) -> Result<Option<Vec<(String, String)>>, CallError> {
        match self.run.and_then(|r| r.summary) {
            Some(f) => self
                .run_export(f, "handleSummary", (data,), limit)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// One call of the `run` export, as [`Self::call`] runs a lifecycle call: refuelled,
    /// within `limit`, its requests sent from here.
    async fn run_export<P, R>(
        &mut self,
        index: ComponentExportIndex,
        name: &str,
        params: P,
        limit: Duration,
    ) -> Result<R, CallError>
    where
        P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower + Send + Sync,
        (Result<R, String>,): wasmtime::component::ComponentNamedList
            + wasmtime::component::Lift
            + Send
            + Sync
            + 'static,
        R: Send,
    {
        self.refuel();
        let mut out = None;
        let r = {
            let (instance, store, out) = (self.instance, &mut self.store, &mut out);
            let call = std::pin::pin!(async move {
                let f = instance
                    .get_typed_func::<P, (Result<R, String>,)>(&mut *store, &index)
                    .map_err(|e| wasmtime::Error::msg(format!("the run export's {name} has the wrong type ({e:#}): rebuild with the current SDK")))?;
                let (r,) = f.call_async(&mut *store, params).await?;
                Ok(r.map(|v| *out = Some(v)))
            });
            let call = std::pin::pin!(exchange::drive(&self.exchange, &mut self.client, call));
            limited(&mut self.timeout, std::time::Instant::now(), limit, call).await
        };
        self.ctx().settle_pending();
        self.settle(r)
            .map(|()| out.expect("set when the call succeeded"))
    }
}

#[derive(Clone, Copy)]
enum Lifecycle {
    Start,
    Task(u32),
    Stop,
}

/// Runs a guest call under the task time limit. Past it, the call's future is dropped,
/// which unwinds the guest (its instance is not used again), and a trap-like error
/// stands for the result.
async fn limited(
    timeout: &mut Timeout,
    begin: std::time::Instant,
    limit: Duration,
    call: impl Future<Output = wasmtime::Result<Result<(), String>>>,
) -> wasmtime::Result<Result<(), String>> {
    timeout
        .within(Instant::from_std(begin), limit, call)
        .await
        .unwrap_or_else(|_| {
            Err(wasmtime::Error::msg(format!(
                "exceeded the task time limit of {} (--max-task-time)",
                humantime::format_duration(limit)
            )))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wit_version_is_the_packages() {
        let wit = include_str!("../../../../wit/scenario.wit");
        let line = format!("package stampede:scenario@{};", super::WIT_VERSION);
        assert!(
            wit.contains(&line),
            "wit/scenario.wit does not declare {line}"
        );
    }
}
