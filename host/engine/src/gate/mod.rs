//! The release gate: thresholds parsed from k6's expression form and evaluated on a
//! finished run's summary. Free of wasmtime types; unit-tested natively.

pub mod baseline;
pub mod evaluate;
pub mod judged;
pub mod threshold;
pub mod verdict;

pub use evaluate::{AbortRule, Evaluation, ThresholdResult, evaluate, lost};
pub use judged::{Judged, Verdict};
pub use threshold::{Threshold, parse};
pub use verdict::{Gate, judge};
