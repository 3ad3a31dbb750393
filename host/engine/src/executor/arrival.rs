//! The open model's engine (k6 `constant-arrival-rate` and `ramping-arrival-rate`
//! run on it): a scheduler
//! starts iteration k when the planned rate's running total reaches k (at
//! `start + k / rate` for a constant rate) on whichever VU is idle. With no idle VU a
//! new one is set up if the plan allows more (its setup time counts against the
//! iteration); otherwise the iteration is dropped and counted, never delayed, so a slow
//! target cannot slow the load down. Each iteration's first request is timed from its
//! scheduled start, so a stalled target shows in the percentiles (no coordinated
//! omission).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::user::{self, Gauge, VuShared};
use super::{LoadCtx, LoadEnd};
use crate::metrics::Event;
use crate::metrics::names::NameId;
use crate::vu::{CallError, Vu};

/// Idle VUs waiting for their next scheduled start. Touched once per iteration by the
/// scheduler and once by the VU that becomes idle, never per request.
pub struct IdlePool {
    waiting: Mutex<Vec<oneshot::Sender<Instant>>>,
    /// The scenario's gauge, where dropped iterations are counted as they happen.
    gauge: Arc<Gauge>,
    pub started: AtomicU64,
    /// VUs set up or being set up, and the most the plan allows.
    allocated: AtomicU32,
    max: u32,
}

impl IdlePool {
    /// A pool of `pre_allocated` VUs that may grow to `max`.
    pub fn new(pre_allocated: u32, max: u32, gauge: Arc<Gauge>) -> Self {
        IdlePool {
            waiting: Mutex::new(Vec::new()),
            gauge,
            started: AtomicU64::new(0),
            allocated: AtomicU32::new(pre_allocated),
            max: max.max(pre_allocated),
        }
    }

    /// Claims one more VU if the plan allows it.
    pub fn try_grow(&self) -> bool {
        self.allocated
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back a VU claimed by [`IdlePool::try_grow`] that was never set up.
    pub fn release_one(&self) {
        let _ = self
            .allocated
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn allocated(&self) -> u32 {
        self.allocated.load(Ordering::Relaxed)
    }

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

/// One stage of an arrival rate: ramp linearly to `target` iterations per second over
/// `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStage {
    pub duration: Duration,
    pub target: f64,
}

/// Iterations the stages plan: the area under the rate.
pub fn planned(start_rate: f64, stages: &[RateStage]) -> u64 {
    let mut from = start_rate;
    let mut area = 0.0;
    for s in stages {
        area += (from + s.target) / 2.0 * s.duration.as_secs_f64();
        from = s.target;
    }
    (area - 1e-9).ceil().max(0.0) as u64
}

/// When each iteration is due, from the start: iteration k when the running total of
/// the rate reaches k (so the first at 0).
pub fn arrivals(start_rate: f64, stages: &[RateStage]) -> impl Iterator<Item = Duration> + '_ {
    let total = planned(start_rate, stages);
    let mut k = 0u64;
    let (mut stage, mut t0, mut c0, mut r0) = (0usize, 0.0f64, 0.0f64, start_rate);
    std::iter::from_fn(move || {
        if k >= total {
            return None;
        }
        while let Some(s) = stages.get(stage) {
            let d = s.duration.as_secs_f64();
            let area = (r0 + s.target) / 2.0 * d;
            let need = k as f64 - c0;
            if need < area || stage + 1 == stages.len() {
                // Solve r0·τ + a·τ²/2 = need for τ within this stage.
                let a = (s.target - r0) / d;
                let tau = if a.abs() < 1e-12 {
                    need / r0.max(1e-12)
                } else {
                    let disc = (r0 * r0 + 2.0 * a * need).max(0.0);
                    (disc.sqrt() - r0) / a
                };
                k += 1;
                return Some(Duration::from_secs_f64(t0 + tau.clamp(0.0, d)));
            }
            (t0, c0, r0) = (t0 + d, c0 + area, s.target);
            stage += 1;
        }
        None
    })
}

/// Starts every planned iteration on schedule, then returns. `grow` is asked to set up
/// a new VU for an iteration no idle VU can take.
pub async fn schedule(
    pool: Arc<IdlePool>,
    due: impl Iterator<Item = Duration>,
    start: Instant,
    grow: impl Fn(Instant) -> bool,
) {
    for offset in due {
        let at = start + offset;
        tokio::time::sleep_until(at).await;
        if pool.dispatch(at) || grow(at) {
            pool.started.fetch_add(1, Ordering::Relaxed);
        } else {
            pool.gauge.dropped_one();
        }
    }
}

/// Runs an open model: sets up `plan.vus` VUs, starts the clock once they are ready
/// (k6 pre-allocates too), then starts this process's stripe of the schedule, setting
/// up more VUs (up to `plan.max_vus`) when none is idle.
pub async fn run(ctx: LoadCtx<'_>, start_rate: f64, stages: &[RateStage]) -> LoadEnd {
    let LoadCtx {
        plan,
        shared,
        vus,
        vu_stop,
        mut cut,
        load_start,
    } = ctx;
    let pool = Arc::new(IdlePool::new(plan.vus, plan.max_vus, shared.active.clone()));
    for id in 1..=plan.vus {
        vus.spawn(vu_loop(
            shared.clone(),
            id,
            pool.clone(),
            vu_stop.clone(),
            None,
        ));
    }
    if plan.vus > 0 {
        tokio::select! {
            _ = pool.wait_ready(plan.vus as usize, Duration::from_secs(30)) => {}
            _ = cut.wait_for(|c| *c) => return LoadEnd::default(),
        }
    }
    let start = *load_start.get_or_init(Instant::now);
    // VUs the scheduler asks for when none is idle, with the iteration they take.
    let (grow_tx, mut grow_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let grow = |at| pool.try_grow() && grow_tx.send(at).is_ok();
    let stripe = plan.stripe;
    let due = arrivals(start_rate, stages)
        .enumerate()
        .filter(move |(k, _)| stripe.is_none_or(|s| s.owns(*k as u64)))
        .map(|(_, at)| at);
    let sched = schedule(pool.clone(), due, start, grow);
    tokio::pin!(sched);
    let mut next_id = plan.vus;
    loop {
        tokio::select! {
            _ = &mut sched => break,
            _ = cut.wait_for(|c| *c) => break,
            Some(at) = grow_rx.recv() => {
                next_id += 1;
                let (shared, pool, stop) = (shared.clone(), pool.clone(), vu_stop.clone());
                vus.spawn(vu_loop(shared, next_id, pool, stop, Some(at)));
            }
        }
    }
    // A VU asked for in the load's last instant never got to start its iteration:
    // that iteration counts as dropped, and the VU as never set up.
    while grow_rx.try_recv().is_ok() {
        pool.started.fetch_sub(1, Ordering::Relaxed);
        pool.gauge.dropped_one();
        pool.release_one();
    }
    LoadEnd {
        finished: false,
        dropped_iterations: pool.gauge.dropped(),
        max_duration_reached: None,
    }
}

/// One VU of the open model. `first` is an iteration handed over at its creation
/// (a VU set up because none was idle): it runs as soon as the user is ready.
pub async fn vu_loop(
    shared: Arc<VuShared>,
    id: u32,
    pool: Arc<IdlePool>,
    mut stop: watch::Receiver<bool>,
    mut first: Option<Instant>,
) {
    let lifecycle = shared.lifecycle;
    let mut vu: Option<Vu> = None;
    let mut task_ids: Vec<NameId> = Vec::new();
    let mut iteration = 0u64;
    let mut ever = false;
    while !*stop.borrow() {
        // Ready a user before offering to take iterations: setup is not on the clock.
        if vu.is_none() {
            let Some((mut v, ids)) = user::instantiate(&shared, id).await else {
                if user::sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                    break;
                }
                continue;
            };
            if !ever {
                ever = true;
                shared.active.started_one();
            }
            let begin = std::time::Instant::now();
            let at_ms = v.ctx().ms_at(begin);
            if let Err(e) = v.on_start(begin).await {
                user::record_failure(&mut v, lifecycle.on_start, at_ms, begin, &e);
                if user::sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                    break;
                }
                continue;
            }
            if v.stopped() {
                // Ended in its own setup (StopUser): a fresh user takes the iteration.
                user::stop(v, lifecycle).await;
                // Not at once: a scenario whose every user stops would spin.
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
        let at = match first.take() {
            Some(at) => at,
            None => {
                let slot = pool.park();
                // Biased: an iteration already handed over runs even if the stop came too.
                tokio::select! {
                    biased;
                    at = slot => match at { Ok(at) => at, Err(_) => break },
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        };
        let ctx = v.ctx();
        ctx.iteration = iteration;
        iteration += 1;
        ctx.scheduled_start = Some(at.into_std());
        let begin = std::time::Instant::now();
        let at_ms = ctx.ms_at(begin);
        let i = v.pick_task();
        let busy = user::Active::new(&shared.active);
        let result = v.run_task(i, begin).await;
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
        } else if v.stopped() {
            // The scenario ended this user: a fresh one takes the next iteration.
            if let Some(v) = vu.take() {
                user::stop(v, lifecycle).await;
            }
        }
    }
    if let Some(v) = vu {
        user::stop(v, lifecycle).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(secs: f64, target: f64) -> RateStage {
        RateStage {
            duration: Duration::from_secs_f64(secs),
            target,
        }
    }

    #[test]
    fn a_constant_rate_is_evenly_spaced() {
        let stages = [st(2.0, 10.0)];
        let due: Vec<Duration> = arrivals(10.0, &stages).collect();
        assert_eq!(due.len(), 20);
        assert_eq!(planned(10.0, &stages), 20);
        for (k, d) in due.iter().enumerate() {
            assert!(
                (d.as_secs_f64() - k as f64 / 10.0).abs() < 1e-9,
                "{k}: {d:?}"
            );
        }
    }

    #[test]
    fn a_ramp_starts_the_area_under_its_rate() {
        // 0 → 100/s over 10 s (500), hold 100/s for 5 s (500), 100 → 0 over 10 s (500).
        let stages = [st(10.0, 100.0), st(5.0, 100.0), st(10.0, 0.0)];
        assert_eq!(planned(0.0, &stages), 1500);
        let due: Vec<f64> = arrivals(0.0, &stages).map(|d| d.as_secs_f64()).collect();
        assert_eq!(due.len(), 1500);
        assert!(due.windows(2).all(|w| w[0] <= w[1]), "in order");
        // Under a linear ramp from 0, N(t) = 5 t²: the 125th is due at 5 s.
        assert!((due[125] - 5.0).abs() < 1e-6, "{}", due[125]);
        assert!((due[500] - 10.0).abs() < 1e-6, "{}", due[500]);
        assert!((due[750] - 12.5).abs() < 1e-6, "{}", due[750]);
        // In the ramp down the spacing widens again; the last is before the end.
        assert!(due[1499] < 25.0 && due[1499] > 24.0, "{}", due[1499]);
        let per_second = |s: usize| due.iter().filter(|t| t.floor() as usize == s).count();
        // N(2) - N(1) = 20 - 5.
        assert_eq!(per_second(1), 15);
        assert_eq!(per_second(12), 100);
    }

    #[test]
    fn idle_stages_and_growth_limits() {
        assert_eq!(planned(0.0, &[st(5.0, 0.0)]), 0);
        assert_eq!(arrivals(0.0, &[st(5.0, 0.0)]).count(), 0);
        // A pause between two bursts: nothing is due during it.
        let stages = [st(1.0, 10.0), st(1.0, 0.0), st(1.0, 0.0), st(1.0, 10.0)];
        let due: Vec<f64> = arrivals(10.0, &stages).map(|d| d.as_secs_f64()).collect();
        assert!(!due.iter().any(|t| (2.0..2.5).contains(t)), "{due:?}");
        let pool = IdlePool::new(2, 3, Default::default());
        assert!(pool.try_grow());
        assert!(!pool.try_grow());
        assert_eq!(pool.allocated(), 3);
    }
}
