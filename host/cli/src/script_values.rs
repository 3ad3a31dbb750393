//! The values of k6's options: durations and whole numbers, named by their field when
//! they are not what k6 takes.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

/// k6's durations: a string such as `"1m30s"`, or a number of milliseconds.
pub(crate) fn duration(v: &Value, field: &str) -> Result<Duration> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|ms| *ms >= 0.0 && ms.is_finite())
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .ok_or_else(|| anyhow!("{field}: {n} is not a duration")),
        Value::String(s) => {
            stampede::parse::parse_duration(s).map_err(|e| anyhow!("{field}: {s:?}: {e}"))
        }
        other => bail!("{field}: {other} is not a duration (such as \"30s\")"),
    }
}

pub(crate) fn count(v: &Value, field: &str) -> Result<u64> {
    v.as_u64()
        .ok_or_else(|| anyhow!("{field}: {v} is not a whole number"))
}
