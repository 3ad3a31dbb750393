//! Live outputs: what a run shows while it goes, to dashboards rather than to the
//! console: scraped (`--metrics-listen`) or pushed (`--out`). Each scenario's aggregator task publishes a [`Snapshot`] on the shared
//! [`Board`] once a second and once at its end; outputs read the board, never a
//! VU's hot path.
//!
//! [`Snapshot`]: crate::metrics::Snapshot

pub mod board;
pub mod families;
pub mod otlp;
pub mod prometheus;
pub mod push;
pub mod remote_write;
pub mod serve;

pub use board::{Board, Publisher};
pub use push::{Pusher, Sink};
pub use serve::MetricsServer;
