//! Several scenarios in one run: each runs as its own [`run`](super::run) (its own
//! component, executor, limits and metrics) on a shared time zero, started at its
//! offset; a stop or an abort reaches all of them; their summaries merge into one.
//!
//! Each scenario runs on worker threads of its own (a runtime per scenario, the cores
//! shared out between the scenarios). A scenario's VUs read their responses and take
//! their timestamps on those threads, so a neighbour whose guests keep all of its own
//! threads busy cannot hold a response back from being read and timed: the operating
//! system shares the cores between the scenarios' threads, and wakes an idle one
//! promptly when its I/O is ready. (On one shared runtime, 4 spinning VUs made a
//! neighbour's p95 34x what it was alone; `BENCH_ONLY=isolation just bench`.)

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Result;
use tokio::sync::{mpsc, watch};

use super::{Cut, LiveStatus, Progress, RunConfig, StopSignals, memory};
use crate::metrics::Summary;
use crate::metrics::aggregate::Live;

/// Runs every scenario; with one, this is [`run`](super::run) itself. The plans are
/// first fitted to the run's memory budget, which a watchdog then holds the run to.
pub async fn run_all(
    mut cfgs: Vec<RunConfig>,
    stop: StopSignals,
    mut progress: impl FnMut(Progress),
) -> Result<Summary> {
    let Some(first) = cfgs.first() else {
        anyhow::bail!("no scenario to run");
    };
    let max_total_memory = first.max_total_memory;
    for note in memory::language_defaults(&mut cfgs) {
        progress(Progress::Note(note));
    }
    let (stop, stopped_for_memory) = match memory::Budget::of(max_total_memory) {
        Some(budget) => {
            let base = memory::resident_bytes().unwrap_or(0);
            for note in memory::fit(&mut cfgs, &budget, base)? {
                progress(Progress::Note(note));
            }
            watched(stop, Arc::new(memory::Watchdog { budget }))
        }
        None => (stop, Arc::default()),
    };
    let mut summary = if cfgs.len() == 1 {
        super::run(cfgs.remove(0), stop, progress).await?
    } else {
        run_many(cfgs, stop, progress).await?
    };
    // Stopped short of its plan: the run did not run the load asked for.
    if let Some(why) = stopped_for_memory.get() {
        summary.run_errors.push(why.clone());
        summary.aborted.get_or_insert_with(|| why.clone());
    }
    Ok(summary)
}

/// `stop`, with the watchdog's stops added: the load stops near the budget, running
/// iterations are cut off at it. The reason is kept for the summary.
fn watched(stop: StopSignals, dog: Arc<memory::Watchdog>) -> (StopSignals, Arc<OnceLock<String>>) {
    let fired = Arc::new(OnceLock::new());
    let StopSignals {
        graceful,
        hard,
        abort,
    } = stop;
    let (at_stop, at_cut) = (fired.clone(), dog.clone());
    let stop = StopSignals {
        graceful,
        hard: Box::pin(async move {
            tokio::select! {
                cut = hard => cut,
                _ = at_cut.cut() => Cut::ByRun,
            }
        }),
        abort: Box::pin(async move {
            tokio::select! {
                why = abort => why,
                why = dog.stop() => {
                    let _ = at_stop.set(why.clone());
                    why
                }
            }
        }),
    };
    (stop, fired)
}

/// Several scenarios, each on threads of its own.
async fn run_many(
    cfgs: Vec<RunConfig>,
    stop: StopSignals,
    mut progress: impl FnMut(Progress),
) -> Result<Summary> {
    // One time zero for every scenario: the caller's (`--start-at`), or when the last
    // is prepared.
    let mut arrivals = super::together::start_together(cfgs.len(), cfgs[0].epoch).into_iter();
    // One switch per kind of stop, flipped by the caller's signals or by an abort.
    let (graceful_tx, graceful_rx) = watch::channel(false);
    let (hard_tx, hard_rx) = watch::channel(None::<Cut>);
    let (abort_tx, abort_rx) = watch::channel(None::<String>);
    let StopSignals {
        graceful,
        hard,
        abort,
    } = stop;
    // Each stop on its own: a hard stop (the memory watchdog's) may come without a
    // graceful one before it.
    let outer = {
        let (g, h) = (graceful_tx.clone(), hard_tx.clone());
        (
            tokio::spawn(async move {
                graceful.await;
                let _ = g.send(true);
            }),
            tokio::spawn(async move {
                let cut = hard.await;
                let _ = h.send(Some(cut));
            }),
        )
    };
    // A stop for the whole run (the memory watchdog's) stops every scenario as an
    // abort does.
    let outer_abort = {
        let a = abort_tx.clone();
        tokio::spawn(async move {
            let why = abort.await;
            let _ = a.send(Some(why));
        })
    };
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<(usize, Progress)>();
    let mut runs = tokio::task::JoinSet::new();
    let mut runtimes = Runtimes(Vec::with_capacity(cfgs.len()));
    let names: Vec<String> = cfgs
        .iter()
        .map(|c| c.name.clone().unwrap_or_default())
        .collect();
    let delays: Vec<Duration> = cfgs.iter().map(|c| c.start_delay).collect();
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let arrival = arrivals.next();
        let mut abort = abort_rx.clone();
        let signals = StopSignals {
            graceful: Box::pin(flipped(graceful_rx.clone())),
            hard: Box::pin(cut_off(hard_rx.clone())),
            abort: Box::pin(async move {
                let why = match abort.wait_for(|a| a.is_some()).await {
                    Ok(why) => why.clone(),
                    Err(_) => None,
                };
                match why {
                    Some(why) => why,
                    None => std::future::pending().await,
                }
            }),
        };
        let tx = progress_tx.clone();
        let rt = scenario_runtime(i, names.len())
            .map_err(|e| anyhow::anyhow!("cannot start threads for scenario {}: {e}", names[i]))?;
        runs.spawn_on(
            async move {
                let r = super::run_with(
                    cfg,
                    signals,
                    |p| {
                        let _ = tx.send((i, p));
                    },
                    arrival,
                )
                .await;
                (i, r)
            },
            rt.handle(),
        );
        runtimes.0.push(rt);
    }
    drop(progress_tx);
    let mut live: Vec<Option<LiveStatus>> = vec![None; names.len()];
    let mut parts: Vec<Option<Summary>> = vec![None; names.len()];
    let mut first_error = None;
    let mut not_started = None;
    let mut abort_reason: Option<String> = None;
    loop {
        tokio::select! {
            Some((i, p)) = progress_rx.recv() => match p {
                Progress::Note(line) => progress(Progress::Note(format!("[{}] {line}", names[i]))),
                Progress::Notice(line) => progress(Progress::Notice(format!("[{}] {line}", names[i]))),
                // One scenario lost an abort_on_fail threshold: all stop now, and the
                // run says which.
                Progress::Aborted(why) => {
                    if abort_reason.is_none() {
                        abort_reason = Some(format!("[{}] {why}", names[i]));
                        let _ = abort_tx.send(Some(format!("stopped with scenario {}: {why}", names[i])));
                    }
                    progress(Progress::Aborted(format!("[{}] {why}", names[i])));
                }
                Progress::Live(st) => {
                    live[i] = Some(st);
                    progress(Progress::Live(combine(&live, &delays)));
                }
            },
            done = runs.join_next() => match done {
                None => break,
                Some(Ok((i, Ok(s)))) => {
                    live[i] = None;
                    parts[i] = Some(s);
                }
                Some(Ok((_, Err(e)))) => {
                    // A scenario that cannot start (bad component) fails the run; the
                    // others are stopped at once. Those it kept from starting say only
                    // that: its own error is the run's.
                    if e.is::<super::together::NotStarted>() {
                        not_started.get_or_insert(e);
                    } else {
                        first_error.get_or_insert(e);
                    }
                    let _ = graceful_tx.send(true);
                    let _ = hard_tx.send(Some(Cut::ByRun));
                }
                Some(Err(e)) => {
                    first_error.get_or_insert(anyhow::anyhow!("a scenario's run failed: {e}"));
                }
            },
        }
    }
    outer.0.abort();
    outer.1.abort();
    outer_abort.abort();
    if let Some(e) = first_error.or(not_started) {
        return Err(e);
    }
    let mut merged = crate::metrics::merge::scenarios(parts.into_iter().flatten().collect());
    if abort_reason.is_some() {
        merged.aborted = abort_reason;
    }
    Ok(merged)
}

/// The threads scenario `i` of `of` runs on: an equal share of the cores (at least
/// one), so every scenario's guests get the same share of the machine however many VUs
/// it has, and a busy one cannot take a core from an idle one's next response.
fn scenario_runtime(i: usize, of: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = (cores / of).max(1);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(format!("scenario-{i}"))
        .enable_all()
        .build()
}

/// The scenarios' runtimes, shut down without blocking when the run ends: whatever a
/// stopped scenario left behind is dropped off the caller's thread.
struct Runtimes(Vec<tokio::runtime::Runtime>);

impl Drop for Runtimes {
    fn drop(&mut self) {
        for rt in self.0.drain(..) {
            rt.shutdown_background();
        }
    }
}

async fn cut_off(mut rx: watch::Receiver<Option<Cut>>) -> Cut {
    let cut = rx.wait_for(|c| c.is_some()).await.ok().and_then(|c| *c);
    match cut {
        Some(cut) => cut,
        None => std::future::pending().await,
    }
}

async fn flipped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// One live line for the whole run: counts add up; the p95 shown is the worst
/// scenario's (percentiles do not add).
fn combine(live: &[Option<LiveStatus>], delays: &[Duration]) -> LiveStatus {
    let mut out = LiveStatus {
        elapsed: Duration::ZERO,
        planned: Some(Duration::ZERO),
        planned_iterations: None,
        vus: 0,
        live: Live::default(),
    };
    for (st, delay) in live.iter().zip(delays) {
        let Some(st) = st else { continue };
        out.elapsed = out.elapsed.max(*delay + st.elapsed);
        out.planned = match (out.planned, st.planned) {
            (Some(a), Some(b)) => Some(a.max(*delay + b)),
            _ => None,
        };
        out.vus += st.vus;
        let l = &st.live;
        out.live.requests += l.requests;
        out.live.failed += l.failed;
        out.live.iterations += l.iterations;
        out.live.last_second_requests += l.last_second_requests;
        out.live.p95_ms = out.live.p95_ms.max(l.p95_ms);
    }
    out
}
