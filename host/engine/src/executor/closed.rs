//! The closed model: each VU loops task after task, waiting between them, until the
//! run's budget (time or shared iterations) is spent. Latency here is service time.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::user::{self, VuShared};
use super::{LoadCtx, LoadEnd};
use crate::metrics::Event;
use crate::metrics::names::NameId;
use crate::vu::{CallError, Vu};

/// What VUs draw their iterations from.
#[derive(Debug)]
pub struct Budget {
    /// Iterations left, for a shared-iterations run; `None` means "until stopped".
    remaining: Option<AtomicU64>,
}

impl Budget {
    pub fn until_stopped() -> Self {
        Budget { remaining: None }
    }

    pub fn iterations(n: u64) -> Self {
        Budget {
            remaining: Some(AtomicU64::new(n)),
        }
    }

    /// Takes one iteration; false when none is left.
    fn claim(&self) -> bool {
        match &self.remaining {
            None => true,
            Some(r) => r
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

/// Runs a closed model: `plan.vus` VUs, VU `id` drawing on `budget(id)`, until
/// `load` completes, every VU has ended (its iterations spent), or the load is cut.
/// `load` is handed the time the load started.
pub async fn run<L: Future<Output = ()> + Send>(
    ctx: LoadCtx<'_>,
    budget: impl Fn(u32) -> Arc<Budget>,
    wanted: Option<watch::Receiver<u32>>,
    load: impl FnOnce(tokio::time::Instant) -> L,
) -> LoadEnd {
    let LoadCtx {
        plan,
        shared,
        vus,
        vu_stop,
        mut cut,
        load_start,
    } = ctx;
    // As k6 does, VUs of a fixed count all get their instance before any starts: one
    // slow to instantiate (a loaded machine) would otherwise find shared iterations
    // spent by the others. Ramping VUs start as they are wanted.
    let gate = wanted
        .is_none()
        .then(|| Arc::new(tokio::sync::Barrier::new(plan.vus as usize)));
    for id in 1..=plan.vus {
        vus.spawn(vu_loop(
            shared.clone(),
            id,
            budget(id),
            vu_stop.clone(),
            wanted.clone(),
            gate.clone(),
        ));
    }
    let start = *load_start.get_or_init(tokio::time::Instant::now);
    if vus.is_empty() {
        // No VU here (a segment's share can be none): only a time-bound load waits.
        tokio::select! {
            _ = load(start) => {}
            _ = cut.wait_for(|c| *c) => {}
        }
        return LoadEnd::default();
    }
    let load = load(start);
    tokio::pin!(load);
    let finished = loop {
        tokio::select! {
            _ = &mut load => break false,
            _ = cut.wait_for(|c| *c) => break false,
            Some(_) = vus.join_next() => if vus.is_empty() { break true },
        }
    };
    LoadEnd {
        finished,
        ..LoadEnd::default()
    }
}

/// A closed model bounded by iterations: it ends when its VUs have spent them (at once
/// when this process has no VU), or when `max_duration` is over, whichever is first.
pub async fn run_counted(
    ctx: LoadCtx<'_>,
    budget: impl Fn(u32) -> Arc<Budget>,
    max_duration: Option<Duration>,
) -> LoadEnd {
    if ctx.plan.vus == 0 {
        return LoadEnd::default();
    }
    let Some(max) = max_duration else {
        return run(ctx, budget, None, |_| std::future::pending()).await;
    };
    let reached = AtomicBool::new(false);
    let mut end = run(ctx, budget, None, |_| async {
        tokio::time::sleep(max).await;
        reached.store(true, Ordering::Relaxed);
    })
    .await;
    if reached.load(Ordering::Relaxed) {
        end.max_duration_reached = Some(max);
    }
    end
}

/// One VU's loop. With `wanted` (ramping VUs), VU `id` loops only while `id <= wanted`
/// and parks between iterations otherwise. With `gate`, the VU first gets its instance
/// and waits for every other VU of the gate to have tried to get theirs.
pub async fn vu_loop(
    shared: Arc<VuShared>,
    id: u32,
    budget: Arc<Budget>,
    mut stop: watch::Receiver<bool>,
    mut wanted: Option<watch::Receiver<u32>>,
    gate: Option<Arc<tokio::sync::Barrier>>,
) {
    let lifecycle = shared.lifecycle;
    let mut active: Option<user::Active> = None;
    let mut vu: Option<Vu> = None;
    let mut started = false;
    // Whether this VU ever got an instance (counted once in the run's VUs).
    let mut ever = false;
    let mut iteration = 0u64;
    let mut task_ids: Vec<NameId> = Vec::new();
    // An iteration claimed but not yet run (setup succeeded on it).
    let mut claimed = false;
    if let Some(gate) = gate {
        // A VU that fails here tries again in the loop, as one that failed later would.
        if let Some((v, ids)) = user::instantiate(&shared, id).await {
            ever = true;
            shared.active.started_one();
            vu = Some(v);
            task_ids = ids;
        }
        tokio::select! {
            _ = gate.wait() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
    while !*stop.borrow() {
        if let Some(w) = &mut wanted
            && *w.borrow() < id
        {
            active = None;
            if let Some(v) = &mut vu {
                v.ctx().recorder.flush();
            }
            let resumed = tokio::select! {
                r = w.wait_for(|n| *n >= id) => r.is_ok(),
                _ = stop.wait_for(|s| *s) => false,
            };
            if !resumed {
                break;
            }
        }
        if !claimed && !budget.claim() {
            break;
        }
        claimed = true;
        if vu.is_none() {
            // Not counted while it has no instance: the gauge is VUs that exist.
            active = None;
            match user::instantiate(&shared, id).await {
                Some((v, ids)) => {
                    if !ever {
                        ever = true;
                        shared.active.started_one();
                    }
                    vu = Some(v);
                    task_ids = ids;
                    started = false;
                }
                None => {
                    // Back off, so a broken scenario does not spin; the claim is spent.
                    claimed = false;
                    if user::sleep_or_stop(std::time::Duration::from_secs(1), &mut stop).await {
                        break;
                    }
                    continue;
                }
            }
        }
        if active.is_none() {
            active = Some(user::Active::new(&shared.active));
        }
        let v = vu.as_mut().expect("instantiated above");
        v.ctx().iteration = iteration;
        let begin = Instant::now();
        let at_ms = begin
            .saturating_duration_since(v.ctx().run_start)
            .as_millis() as u32;
        let (task, result) = if !started {
            (lifecycle.on_start, v.on_start(begin).await)
        } else {
            let i = v.pick_task();
            (task_ids[i], v.run_task(i, begin).await)
        };
        let end = Instant::now();
        let duration_us = end.saturating_duration_since(begin).as_micros() as u64;
        let trapped = matches!(result, Err(CallError::Trap(_)));
        if task == lifecycle.on_start {
            // A successful setup is not an iteration; a failed one is, so a scenario
            // whose setup always fails still spends its budget and ends.
            if let Err(e) = &result {
                user::record_failure(v, task, at_ms, begin, e);
            } else {
                started = true;
            }
        } else {
            v.ctx().recorder.record(Event::Iteration {
                task,
                at_ms,
                duration_us,
                error: result.as_ref().err().map(|e| e.message().into()),
            });
        }
        let wait = v.wait_time();
        if wait >= crate::metrics::recorder::MAX_AGE {
            // A VU about to idle sends its buffer now: it would be stale by the time it
            // wakes, and an idle VU should hold no buffer.
            v.ctx().recorder.flush();
        } else {
            v.ctx().recorder.flush_if_stale_at(end);
        }
        // The scenario ended this user (Locust's StopUser): it takes no more iterations.
        let user_stopped = !trapped && v.stopped();
        if trapped {
            // The instance's state is unknown after a trap: start a new user.
            vu = None;
        }
        if user_stopped {
            break;
        }
        if task == lifecycle.on_start && result.is_ok() {
            // Setup does not consume the iteration it claimed, nor its number: the
            // first task runs as iteration 0 (k6's `__ITER`), as in the open model.
            continue;
        }
        iteration += 1;
        // The next iteration is claimed before its think time: with none left, the VU
        // is done now, and the run does not end a think time late.
        claimed = budget.claim();
        if !claimed {
            break;
        }
        if !wait.is_zero() && pause(wait, &mut stop, wanted.as_mut(), id).await {
            break;
        }
    }
    drop(active);
    if let Some(v) = vu
        && started
    {
        user::stop(v, lifecycle).await;
    }
}

/// Think time between iterations; cut short when the run stops (true) or when a ramp
/// down leaves this VU out (false: the loop parks it).
async fn pause(
    d: std::time::Duration,
    stop: &mut watch::Receiver<bool>,
    wanted: Option<&mut watch::Receiver<u32>>,
    id: u32,
) -> bool {
    let ramped_down = async {
        match wanted {
            // The controller gone means the load is over: the stop follows.
            Some(w) => {
                if w.wait_for(|n| *n < id).await.is_err() {
                    std::future::pending::<()>().await
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        stopped = user::sleep_or_stop(d, stop) => stopped,
        _ = ramped_down => *stop.borrow(),
    }
}
