//! Supervision of the load: the executor runs it while this watches the signals, the
//! VUs' setup failures and the once-a-second figures (progress, abort rules), cuts the
//! load short when one says so, and gives running iterations their graceful stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::monitor::Monitor;
use super::{Cut, LiveStatus, Progress, RunConfig, StopSignals};
use crate::executor::user::VuShared;
use crate::executor::{LoadCtx, LoadEnd};

/// How the load went.
pub(super) struct Supervised {
    pub end: LoadEnd,
    pub interrupted: Option<String>,
    pub aborted: Option<String>,
    /// What the once-per-run setup or teardown could not do.
    pub errors: Vec<String>,
    /// The load began this much after its start time (`--start-at` already past, or
    /// passed while the component compiled).
    pub late: Option<Duration>,
}

/// Lateness below this is scheduling noise, not worth a warning.
const LATE: Duration = Duration::from_millis(100);

/// Waits for the start time, runs the load, then stops the VUs. `shared` is dropped
/// once the load is over, so the aggregator sees its senders go with the VUs.
pub(super) async fn supervise(
    cfg: &RunConfig,
    shared: Arc<VuShared>,
    monitor: &Monitor,
    run_start: Instant,
    stop: StopSignals,
    progress: &mut impl FnMut(Progress),
) -> Supervised {
    let (active, failures) = (shared.active.clone(), shared.failures.clone());
    let StopSignals {
        graceful: mut interrupt,
        hard: mut hard_stop,
        abort: mut abort_signal,
    } = stop;
    let mut interrupted = None;
    let mut aborted = None;
    let mut late = None;
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
    } else if cfg.epoch.is_some() || !cfg.start_delay.is_zero() {
        let by = begin.elapsed();
        if by >= LATE {
            progress(Progress::Note(format!(
                "starts {:.1}s late: its start time passed while it was prepared",
                by.as_secs_f64()
            )));
            late = Some(by);
        }
    }
    let mut vus = tokio::task::JoinSet::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut errors = Vec::new();
    // The scenario's once-per-run setup, before any VU. Its failure means no load.
    let once_limit = |own: Option<Duration>| own.unwrap_or(shared.rt.limits.task_timeout);
    let (setup_limit, teardown_limit) = (
        once_limit(cfg.setup_timeout),
        once_limit(cfg.teardown_timeout),
    );
    let mut teardown = None;
    let group = cfg.once_group.as_deref();
    // What a group's last member runs its teardown with, once `shared` is gone.
    let teardown_kit = (shared.rt.clone(), shared.make_ctx.clone());
    if interrupted.is_none() && aborted.is_none() && shared.rt.has_setup() {
        progress(Progress::Note("running the scenario's setup".into()));
        tokio::select! {
            r = super::once::setup(&shared, setup_limit, group) => match r {
                Ok(t) => teardown = t,
                Err(why) => {
                    progress(Progress::Aborted(why.clone()));
                    errors.push(why);
                }
            },
            _ = &mut interrupt => interrupted = Some("interrupted (Ctrl-C) during setup".to_string()),
            why = &mut abort_signal => aborted = Some(why),
        }
    }
    // Interrupted before its start, or its setup failed: no VU is set up, no load runs.
    let stopped_early = interrupted.is_some() || aborted.is_some() || !errors.is_empty();
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
    let mut hard_cut = false;
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
            cut = &mut hard_stop => {
                hard_cut = true;
                if cut == Cut::ByUser {
                    interrupted = Some("interrupted (Ctrl-C twice: running iterations cut off)".into());
                }
            }
        }
        // Whatever is still running is cut off; dropping a VU flushes what it recorded.
        vus.abort_all();
        while vus.join_next().await.is_some() {}
    }
    // Teardown once the last VU stopped, as k6 does even after a Ctrl-C; not after a
    // hard stop, which asked for everything to end now. In a group, once the last
    // member's VUs stopped.
    if let Some(g) = group {
        teardown = g.leave(teardown_kit.0, teardown_kit.1);
    }
    if let Some(t) = teardown {
        if hard_cut {
            errors.push("teardown() did not run: the run was stopped hard".into());
        } else {
            progress(Progress::Note("running the scenario's teardown".into()));
            tokio::select! {
                why = t.run(teardown_limit) => errors.extend(why),
                _ = &mut hard_stop => errors.push("teardown() cut off by a hard stop".into()),
            }
        }
    }
    Supervised {
        end,
        interrupted,
        aborted,
        errors,
        late,
    }
}
