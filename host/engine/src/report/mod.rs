//! Writers of a finished run's summary. Each is generic over `io::Write`.

mod chart;
pub mod console;
mod escape;
pub mod fmt;
pub mod html;
pub mod junit;
pub mod markdown;
