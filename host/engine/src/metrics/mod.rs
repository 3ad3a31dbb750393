//! Everything measured in a run, free of wasmtime types so it unit-tests natively.
//!
//! Flow: each VU fills a [`recorder::Recorder`] (a small buffer of plain events),
//! sends it in batches to one [`aggregate::Aggregator`] that owns the HDR histograms,
//! and the aggregator produces a [`summary::Summary`] at the end.

pub mod aggregate;
pub mod event;
pub mod exemplars;
pub mod merge;
pub mod names;
pub mod recorder;
pub mod segments;
pub mod series;
pub mod snapshot;
pub mod summary;
pub mod tags;
pub mod trend;

pub use aggregate::Aggregator;
pub use event::{ErrorKind, Event};
pub use names::{NameId, Names};
pub use recorder::Recorder;
pub use snapshot::Snapshot;
pub use summary::Summary;
pub use trend::Trend;
