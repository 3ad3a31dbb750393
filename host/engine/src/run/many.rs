//! Several scenarios in one run: each runs as its own [`run`](super::run) (its own
//! component, executor, limits and metrics) on a shared time zero, started at its
//! offset; a stop or an abort reaches all of them; their summaries merge into one.

use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::{mpsc, watch};

use super::{LiveStatus, Progress, RunConfig, StopSignals};
use crate::metrics::Summary;
use crate::metrics::aggregate::Live;

/// Runs every scenario; with one, this is [`run`](super::run) itself.
pub async fn run_all(
    mut cfgs: Vec<RunConfig>,
    stop: StopSignals,
    mut progress: impl FnMut(Progress),
) -> Result<Summary> {
    if cfgs.len() == 1 {
        return super::run(cfgs.remove(0), stop, progress).await;
    }
    // A time zero set by the caller (`--start-at`) holds for every scenario.
    let epoch = cfgs[0].epoch.unwrap_or_else(Instant::now);
    // One switch per kind of stop, flipped by the caller's signals or by an abort.
    let (graceful_tx, graceful_rx) = watch::channel(false);
    let (hard_tx, hard_rx) = watch::channel(false);
    let (abort_tx, abort_rx) = watch::channel(None::<String>);
    let StopSignals {
        graceful,
        hard,
        abort: _,
    } = stop;
    let outer = {
        let (g, h) = (graceful_tx.clone(), hard_tx.clone());
        tokio::spawn(async move {
            graceful.await;
            let _ = g.send(true);
            hard.await;
            let _ = h.send(true);
        })
    };
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<(usize, Progress)>();
    let mut runs = tokio::task::JoinSet::new();
    let names: Vec<String> = cfgs
        .iter()
        .map(|c| c.name.clone().unwrap_or_default())
        .collect();
    let delays: Vec<Duration> = cfgs.iter().map(|c| c.start_delay).collect();
    for (i, mut cfg) in cfgs.into_iter().enumerate() {
        cfg.epoch = Some(epoch);
        let mut abort = abort_rx.clone();
        let signals = StopSignals {
            graceful: Box::pin(flipped(graceful_rx.clone())),
            hard: Box::pin(flipped(hard_rx.clone())),
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
        runs.spawn(async move {
            let r = super::run(cfg, signals, |p| {
                let _ = tx.send((i, p));
            })
            .await;
            (i, r)
        });
    }
    drop(progress_tx);
    let mut live: Vec<Option<LiveStatus>> = vec![None; names.len()];
    let mut parts: Vec<Option<Summary>> = vec![None; names.len()];
    let mut first_error = None;
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
                    // others are stopped at once.
                    first_error.get_or_insert(e);
                    let _ = graceful_tx.send(true);
                    let _ = hard_tx.send(true);
                }
                Some(Err(e)) => {
                    first_error.get_or_insert(anyhow::anyhow!("a scenario's run failed: {e}"));
                }
            },
        }
    }
    outer.abort();
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut merged = crate::metrics::merge::scenarios(parts.into_iter().flatten().collect());
    if abort_reason.is_some() {
        merged.aborted = abort_reason;
    }
    Ok(merged)
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
