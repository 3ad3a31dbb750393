//! The per-VU side of metrics: a small local buffer of events, handed to the aggregator
//! in batches. Recording is a `Vec::push`; no lock, no channel operation per request.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::event::Event;

/// Events per batch: large enough to amortise the channel, small enough to keep an idle
/// VU's memory low.
const BATCH: usize = 128;
/// A VU that records slowly still reports at least this often (live progress).
pub const MAX_AGE: Duration = Duration::from_millis(250);

pub type Batch = Vec<Event>;

#[derive(Debug)]
pub struct Recorder {
    events: Batch,
    tx: UnboundedSender<Batch>,
    oldest: Option<Instant>,
}

impl Recorder {
    pub fn new(tx: UnboundedSender<Batch>) -> Self {
        Recorder {
            events: Vec::new(),
            tx,
            oldest: None,
        }
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
        let mut r = Recorder::new(tx);
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
}
