//! The aggregator's task: folds the VUs' batches into the one [`Aggregator`] and, once
//! a second when the run asks, samples the VU gauge, reports the figures so far,
//! judges the abort-on-fail thresholds and publishes to the live outputs. Nothing
//! here is on a VU's hot path.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::executor::user::Gauge;
use crate::gate::AbortRule;
use crate::live::Publisher;
use crate::metrics::aggregate::{Live, RunMeta};
use crate::metrics::recorder::{Backlog, Batch};
use crate::metrics::tags::TagFilter;
use crate::metrics::{Aggregator, Names};

struct Tick {
    elapsed: Duration,
    vus: u32,
    reply: oneshot::Sender<TickReport>,
}

/// What one tick found.
#[derive(Debug, Clone)]
pub struct TickReport {
    pub live: Live,
    /// Set when an abort-on-fail threshold is lost: why the run should stop.
    pub abort: Option<String>,
}

pub struct Monitor {
    ticks: mpsc::Sender<Tick>,
    task: JoinHandle<Aggregator>,
}

/// The tags every request and check of the scenario carries: its configured ones and
/// its name (a filter of several pairs may name the scenario).
fn every_records_tags(meta: &RunMeta) -> std::collections::BTreeMap<String, String> {
    let mut tags = meta.scenario.tags.clone();
    tags.entry("scenario".into())
        .or_insert_with(|| meta.scenario.name.clone());
    tags
}

impl Monitor {
    /// Starts the task. `meta` describes the run for the live summaries that abort
    /// rules are judged on; `live`, when a live output is on, is where the figures so
    /// far go, with the scenario's `gauge` (VUs, dropped iterations).
    pub fn spawn(
        names: Arc<Names>,
        mut batches: mpsc::UnboundedReceiver<Batch>,
        backlog: Arc<Backlog>,
        aborts: Vec<AbortRule>,
        (request_tags, check_tags, tag_sets): (&[TagFilter], &[TagFilter], Arc<Names>),
        meta: RunMeta,
        live: Option<(Publisher, Arc<Gauge>)>,
    ) -> Monitor {
        let (ticks, mut tick_rx) = mpsc::channel::<Tick>(1);
        let mut agg = Aggregator::new(names)
            .with_tag_filters(request_tags, every_records_tags(&meta), tag_sets)
            .with_check_tag_filters(check_tags);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    b = batches.recv() => match b {
                        Some(b) => {
                            agg.add_batch(&b);
                            backlog.taken(b.len());
                        }
                        // Every VU is gone: nothing more to measure.
                        None => break,
                    },
                    Some(t) = tick_rx.recv() => {
                        let at_ms = t.elapsed.as_millis().min(u32::MAX as u128) as u32;
                        // The gauge as it stood at the end of the second just gone.
                        agg.sample_vus(at_ms.saturating_sub(1), t.vus);
                        let abort = if aborts.is_empty() {
                            None
                        } else {
                            let mut m = meta.clone();
                            m.duration_s = t.elapsed.as_secs_f64();
                            crate::gate::lost(&aborts, &agg.summary_without_series(m), t.elapsed)
                        };
                        if let Some((out, gauge)) = &live {
                            out.publish(agg.snapshot(t.vus, gauge.dropped(), false));
                        }
                        let _ = t.reply.send(TickReport { live: agg.live(at_ms), abort });
                    }
                }
            }
            // Every VU and the teardown are done: the final figures.
            if let Some((out, gauge)) = &live {
                out.publish(agg.snapshot(0, gauge.dropped(), true));
            }
            agg
        });
        Monitor { ticks, task }
    }

    /// One tick; `None` if the aggregator is gone.
    pub async fn tick(&self, elapsed: Duration, vus: u32) -> Option<TickReport> {
        let (reply, rx) = oneshot::channel();
        self.ticks
            .send(Tick {
                elapsed,
                vus,
                reply,
            })
            .await
            .ok()?;
        rx.await.ok()
    }

    /// Waits for every batch (all VUs must be gone) and returns the aggregate.
    pub async fn finish(self) -> anyhow::Result<Aggregator> {
        drop(self.ticks);
        self.task
            .await
            .map_err(|e| anyhow::anyhow!("metrics aggregator failed: {e}"))
    }
}
