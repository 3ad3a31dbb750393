//! The per-VU side of metrics: a small local buffer of events, handed to the aggregator
//! in batches. Recording is a `Vec::push`; no lock, no channel operation per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use super::event::Event;

/// Events per batch: large enough to amortise the channel, small enough to keep an idle
/// VU's memory low.
const BATCH: usize = 128;
/// A VU that records slowly still reports at least this often (live progress).
pub const MAX_AGE: Duration = Duration::from_millis(250);

pub type Batch = Vec<Event>;

/// Events a scenario's VUs may have handed on that the aggregator has not yet taken in
/// (about 20 MiB of them).
pub const MAX_BACKLOG: usize = 256 << 10;

/// Events handed to the aggregator and not yet taken in, across a scenario's VUs. A
/// guest that records faster than the aggregator folds (a million checks in a loop) is
/// held back at its next epoch yield until the backlog drains, instead of growing the
/// host's memory.
#[derive(Debug, Default)]
pub struct Backlog {
    events: AtomicUsize,
    drained: Notify,
    /// Times a VU was held back, for the summary's warning.
    pub held: std::sync::atomic::AtomicU64,
}

impl Backlog {
    pub fn over(&self) -> bool {
        self.events.load(Ordering::Relaxed) > MAX_BACKLOG
    }

    /// Waits until the backlog is within its bound.
    pub async fn within(&self) {
        self.held.fetch_add(1, Ordering::Relaxed);
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before the check, so a drain in between is not missed.
            drained.as_mut().enable();
            if !self.over() {
                return;
            }
            drained.await;
        }
    }

    /// The aggregator took in `n` events.
    pub fn taken(&self, n: usize) {
        let before = self.events.fetch_sub(n, Ordering::Relaxed);
        if before > MAX_BACKLOG && before - n <= MAX_BACKLOG {
            self.drained.notify_waiters();
        }
    }
}

#[derive(Debug)]
pub struct Recorder {
    events: Batch,
    tx: UnboundedSender<Batch>,
    backlog: Arc<Backlog>,
    oldest: Option<Instant>,
}

impl Recorder {
    pub fn new(tx: UnboundedSender<Batch>, backlog: Arc<Backlog>) -> Self {
        Recorder {
            events: Vec::new(),
            tx,
            backlog,
            oldest: None,
        }
    }

    /// What this recorder's batches add to.
    pub fn backlog(&self) -> &Arc<Backlog> {
        &self.backlog
    }

    #[inline]
    pub fn record(&mut self, event: Event) {
        if self.events.capacity() == 0 {
            self.events.reserve_exact(BATCH);
            self.oldest = Some(Instant::now());
        }
        self.events.push(event);
        if self.events.len() >= BATCH {
            self.flush();
        }
    }

    /// Sends the buffer if it has waited long enough; call at quiet points (between
    /// iterations, before sleeping).
    pub fn flush_if_stale(&mut self) {
        self.flush_if_stale_at(Instant::now());
    }

    /// [`Self::flush_if_stale`] with the caller's clock read.
    pub fn flush_if_stale_at(&mut self, now: Instant) {
        if self
            .oldest
            .is_some_and(|t| now.saturating_duration_since(t) >= MAX_AGE)
        {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        self.oldest = None;
        if self.events.is_empty() {
            return;
        }
        // The next batch is allocated lazily, so an idle VU holds no buffer.
        let batch = std::mem::take(&mut self.events);
        self.backlog
            .events
            .fetch_add(batch.len(), Ordering::Relaxed);
        // A closed channel means the run is over and nothing reads any more.
        let _ = self.tx.send(batch);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::event::CustomValue;

    #[test]
    fn batches_are_flushed_when_full_and_on_drop() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut r = Recorder::new(tx, Arc::default());
        let ev = Event::Custom {
            name: 0,
            value: CustomValue::Counter(1.0),
        };
        for _ in 0..BATCH + 3 {
            r.record(ev.clone());
        }
        assert_eq!(rx.try_recv().unwrap().len(), BATCH);
        assert!(rx.try_recv().is_err());
        drop(r);
        assert_eq!(rx.try_recv().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_backlog_past_its_bound_holds_recorders_back_until_it_drains() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        let mut r = Recorder::new(tx, backlog.clone());
        let ev = Event::Custom {
            name: 0,
            value: CustomValue::Counter(1.0),
        };
        for _ in 0..MAX_BACKLOG + BATCH {
            r.record(ev.clone());
        }
        assert!(backlog.over());
        let wait = tokio::spawn({
            let b = backlog.clone();
            async move { b.within().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!wait.is_finished(), "held back while over");
        // The aggregator takes batches in: once within the bound, the recorder goes on.
        while let Ok(b) = rx.try_recv() {
            backlog.taken(b.len());
        }
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("released once drained")
            .unwrap();
        assert!(!backlog.over());
        // The summary's warning reads this count.
        assert_eq!(backlog.held.load(Ordering::Relaxed), 1);
    }
}
