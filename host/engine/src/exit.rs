//! The process's exit codes, as the README's table documents them: the verdict sets
//! them for runs, and every command returns one.

pub const PASSED: u8 = 0;
/// Bad flags, an unreadable or invalid scenario, or any other configuration error.
pub const CONFIG_ERROR: u8 = 2;
/// The run did not run the load asked for: a VU could not be instantiated.
pub const RUN_FAILED: u8 = 97;
/// Thresholds passed, but a `fail` baseline rule found a regression.
pub const BASELINE_REGRESSION: u8 = 98;
/// At least one threshold failed (the default gate's included), or an
/// `abort_on_fail` threshold stopped the run early (k6's code).
pub const THRESHOLDS_FAILED: u8 = 99;
/// The run was interrupted (Ctrl-C) before its end.
pub const INTERRUPTED: u8 = 130;
