//! The open model (k6 `constant-arrival-rate`): a scheduler starts iteration k at
//! `start + k / rate` on whichever VU is idle. No idle VU means the iteration is
//! dropped and counted, never delayed, so a slow target cannot slow the load down; and
//! each iteration's first request is timed from its scheduled start, so a stalled target
//! shows in the percentiles (no coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::user::{self, VuShared};
use crate::metrics::Event;
use crate::metrics::names::NameId;
use crate::vu::{CallError, Vu};

/// Idle VUs waiting for their next scheduled start. Touched once per iteration by the
/// scheduler and once by the VU that becomes idle, never per request.
#[derive(Default)]
pub struct IdlePool {
    waiting: Mutex<Vec<oneshot::Sender<Instant>>>,
    pub dropped: AtomicU64,
    pub started: AtomicU64,
}

impl IdlePool {
    fn park(&self) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("idle pool").push(tx);
        rx
    }

    /// Waits until `n` VUs are idle (set up), or `limit` passes.
    pub async fn wait_ready(&self, n: usize, limit: Duration) {
        let until = Instant::now() + limit;
        while self.waiting.lock().expect("idle pool").len() < n && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Hands `at` to an idle VU; false when none is idle.
    fn dispatch(&self, at: Instant) -> bool {
        loop {
            let Some(tx) = self.waiting.lock().expect("idle pool").pop() else {
                return false;
            };
            // A VU that stopped waiting (run over) leaves a closed sender: try the next.
            if tx.send(at).is_ok() {
                return true;
            }
        }
    }
}

/// Starts `rate × duration` iterations on schedule, then returns.
pub async fn schedule(pool: Arc<IdlePool>, per_sec: f64, duration: Duration, start: Instant) {
    let total = (per_sec * duration.as_secs_f64()).round() as u64;
    let interval = 1.0 / per_sec;
    for k in 0..total {
        let at = start + Duration::from_secs_f64(k as f64 * interval);
        tokio::time::sleep_until(at).await;
        if pool.dispatch(at) {
            pool.started.fetch_add(1, Ordering::Relaxed);
        } else {
            pool.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub async fn vu_loop(
    shared: Arc<VuShared>,
    id: u32,
    pool: Arc<IdlePool>,
    mut stop: watch::Receiver<bool>,
) {
    let (rt, make_ctx, lifecycle) = (&shared.rt, &shared.make_ctx, shared.lifecycle);
    let mut vu: Option<Vu> = None;
    let mut task_ids: Vec<NameId> = Vec::new();
    let mut iteration = 0u64;
    while !*stop.borrow() {
        // Ready a user before offering to take iterations: setup is not on the clock.
        if vu.is_none() {
            let Some((mut v, ids)) = user::instantiate(rt, &**make_ctx, id).await else {
                if user::sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                    break;
                }
                continue;
            };
            let at_ms = v.ctx().now_ms();
            let begin = std::time::Instant::now();
            if let Err(e) = v.on_start().await {
                user::record_failure(&mut v, lifecycle.on_start, at_ms, begin, &e);
                if user::sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                    break;
                }
                continue;
            }
            task_ids = ids;
            vu = Some(v);
        }
        let v = vu.as_mut().expect("ready above");
        v.ctx().recorder.flush_if_stale();
        let slot = pool.park();
        // Biased: an iteration already handed over runs even if the stop came too.
        let at = tokio::select! {
            biased;
            at = slot => match at { Ok(at) => at, Err(_) => break },
            _ = stop.wait_for(|s| *s) => break,
        };
        let ctx = v.ctx();
        ctx.iteration = iteration;
        iteration += 1;
        ctx.scheduled_start = Some(at.into_std());
        let at_ms = ctx.now_ms();
        let begin = std::time::Instant::now();
        let i = v.pick_task();
        let busy = user::Active::new(&shared.active);
        let result = v.run_task(i).await;
        drop(busy);
        let ctx = v.ctx();
        ctx.scheduled_start = None;
        ctx.recorder.record(Event::Iteration {
            task: task_ids[i],
            at_ms,
            duration_us: begin.elapsed().as_micros() as u64,
            error: result.as_ref().err().map(|e| e.message().into()),
        });
        if matches!(result, Err(CallError::Trap(_))) {
            vu = None;
        }
    }
    if let Some(v) = vu {
        user::stop(v, lifecycle).await;
    }
}
