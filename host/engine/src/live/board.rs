//! The figures every scenario of a run last published, for the live outputs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::metrics::Snapshot;

/// One scenario's last figures and the labels outputs put on them.
#[derive(Debug, Clone)]
pub struct Entry {
    pub scenario: Arc<str>,
    pub tags: BTreeMap<String, String>,
    /// The run's time zero, in milliseconds since the Unix epoch (exemplars' times are
    /// from it).
    pub started_at_ms: u64,
    pub snapshot: Snapshot,
}

/// Shared by the scenarios' aggregator tasks (writers, once a second each) and the
/// outputs (readers, once a scrape or push): a plain lock is cheap at that rate.
#[derive(Debug, Default)]
pub struct Board {
    entries: Mutex<BTreeMap<Arc<str>, Entry>>,
}

impl Board {
    pub fn new() -> Arc<Board> {
        Arc::new(Board::default())
    }

    /// A scenario's handle, shown with no figures (and not finished) until it
    /// publishes, so a scrape before its first tick does not read as the end.
    pub fn publisher(
        self: &Arc<Self>,
        scenario: Arc<str>,
        tags: BTreeMap<String, String>,
        started_at_ms: u64,
    ) -> Publisher {
        let p = Publisher {
            board: self.clone(),
            scenario,
            tags,
            started_at_ms,
        };
        p.publish(Snapshot::default());
        p
    }

    /// Every scenario's last figures, in name order.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().values().cloned().collect()
    }

    /// Whether there are scenarios and every one has published its final figures.
    pub fn all_finished(&self) -> bool {
        let entries = self.lock();
        !entries.is_empty() && entries.values().all(|e| e.snapshot.finished)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Arc<str>, Entry>> {
        // A panicked reader leaves the map whole: go on with it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One scenario's handle on the board.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub board: Arc<Board>,
    pub scenario: Arc<str>,
    pub tags: BTreeMap<String, String>,
    pub started_at_ms: u64,
}

impl Publisher {
    pub fn publish(&self, snapshot: Snapshot) {
        self.board.lock().insert(
            self.scenario.clone(),
            Entry {
                scenario: self.scenario.clone(),
                tags: self.tags.clone(),
                started_at_ms: self.started_at_ms,
                snapshot,
            },
        );
    }
}
