//! A script's own plan and gate (k6's `export const options`), read from the component
//! before the load is planned: the load and thresholds it states become the lowest
//! layer, under `stampede.toml` and the command line (k6's flags override its options
//! the same way). What Stampede does not take from it is named, never dropped quietly.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;
use stampede::executor::Stage;

use crate::config::{AbortOnFail, ThresholdSpec};
use crate::load::LoadSpec;
use crate::script_values::{count, duration};

/// What a script's options give the run.
#[derive(Debug, Default)]
pub struct ScriptOptions {
    pub load: LoadSpec,
    pub thresholds: Vec<ThresholdSpec>,
    /// `insecureSkipTLSVerify: true`.
    pub insecure: bool,
    /// k6's `scenarios`, planned (empty: none stated).
    pub scenarios: Vec<crate::script_scenarios::ScriptScenario>,
    /// k6's `tags`: the run's tags.
    pub tags: BTreeMap<String, String>,
    /// k6's `setupTimeout` and `teardownTimeout`.
    pub setup_timeout: Option<Duration>,
    pub teardown_timeout: Option<Duration>,
    /// The target its user classes name (a locustfile's `host`), for a run given none.
    pub host: Option<String>,
    /// Options Stampede does not apply, for one warning line.
    pub ignored: Vec<String>,
}

// Options that change nothing a Stampede run measures or judges.
const HARMLESS: &[&str] = &[
    "summaryTrendStats",
    "summaryTimeUnit",
    "noColor",
    "ext",
    "cloud",
];

#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Plain(String),
    Full {
        threshold: String,
        #[serde(rename = "abortOnFail", default)]
        abort_on_fail: bool,
        #[serde(rename = "delayAbortEval")]
        delay_abort_eval: Option<Value>,
    },
}

/// Reads the JSON the scenario's `run.options` returned.
pub fn parse(json: &str) -> Result<ScriptOptions> {
    let map: BTreeMap<String, Value> =
        serde_json::from_str(json).map_err(|e| anyhow!("options is not an object: {e}"))?;
    let mut o = ScriptOptions::default();
    for (key, v) in &map {
        match key.as_str() {
            "vus" => {
                let n = count(v, "options.vus")?;
                o.load.vus = Some(u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                    anyhow!("options.vus: {n} is not a number of VUs (1 or more)")
                })?);
            }
            "duration" => o.load.duration = Some(duration(v, "options.duration")?),
            "iterations" => o.load.iterations = Some(count(v, "options.iterations")?),
            "stages" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| anyhow!("options.stages: not a list"))?;
                let mut stages = Vec::new();
                for (i, s) in list.iter().enumerate() {
                    let field = format!("stages[{i}]");
                    let d = s
                        .get("duration")
                        .ok_or_else(|| anyhow!("options.{field}: no duration"))?;
                    let t = s
                        .get("target")
                        .ok_or_else(|| anyhow!("options.{field}: no target"))?;
                    stages.push(Stage {
                        duration: duration(d, &format!("options.{field}.duration"))?,
                        target: u32::try_from(count(t, &format!("options.{field}.target"))?)
                            .map_err(|_| anyhow!("options.{field}.target: too large"))?,
                    });
                }
                o.load.stages = Some(stages);
            }
            "thresholds" => o.thresholds = thresholds(v)?,
            "insecureSkipTLSVerify" => o.insecure = v.as_bool().unwrap_or(false),
            "setupTimeout" => o.setup_timeout = Some(duration(v, "options.setupTimeout")?),
            "teardownTimeout" => o.teardown_timeout = Some(duration(v, "options.teardownTimeout")?),
            "scenarios" => o.scenarios = crate::script_scenarios::parse(v, &mut o.ignored)?,
            "host" => {
                o.host = Some(
                    v.as_str()
                        .ok_or_else(|| anyhow!("host: {v} is not a URL"))?
                        .to_string(),
                )
            }
            "tags" => {
                let map = v
                    .as_object()
                    .ok_or_else(|| anyhow!("options.tags: not an object of names to strings"))?;
                for (k, t) in map {
                    let t = t
                        .as_str()
                        .ok_or_else(|| anyhow!("options.tags.{k}: {t} is not a string"))?;
                    o.tags.insert(k.clone(), t.to_string());
                }
            }
            // Applied by the script's own k6 layer (`http.batch`): checked here, before
            // any load, against the host's bound.
            "batch" | "batchPerHost" => {
                let field = format!("options.{key}");
                let n = count(v, &field)?;
                let max = stampede::client::MAX_BATCH_PARALLEL;
                if n == 0 || n > u64::from(max) {
                    bail!(
                        "{field}: {n} requests of a batch at once; Stampede allows 1 to {max} per VU"
                    );
                }
            }
            k if HARMLESS.contains(&k) => {}
            other => o.ignored.push(other.to_string()),
        }
    }
    Ok(o)
}

fn thresholds(v: &Value) -> Result<Vec<ThresholdSpec>> {
    let map = v
        .as_object()
        .ok_or_else(|| anyhow!("options.thresholds: not an object of metric: [rules]"))?;
    let mut out = Vec::new();
    for (selector, rules) in map {
        let list = match rules {
            Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        };
        for rule in list {
            let entry: Entry = serde_json::from_value(rule.clone()).map_err(|_| {
                anyhow!("options.thresholds[{selector:?}]: {rule} is neither \"p(95)<500\" nor {{threshold, abortOnFail}}")
            })?;
            let (expr, abort) = match entry {
                Entry::Plain(e) => (e, None),
                Entry::Full {
                    threshold,
                    abort_on_fail,
                    delay_abort_eval,
                } => {
                    let delay = match &delay_abort_eval {
                        Some(d) => duration(
                            d,
                            &format!("options.thresholds[{selector:?}].delayAbortEval"),
                        )?,
                        None => Duration::ZERO,
                    };
                    (threshold, abort_on_fail.then_some(AbortOnFail { delay }))
                }
            };
            let parsed = stampede::gate::parse(&format!("{selector}: {expr}"))
                .map_err(|e| anyhow!("options.thresholds[{selector:?}]: {e}"))?;
            out.push(ThresholdSpec {
                selector: selector.clone(),
                parsed,
                abort,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k6_options_become_a_load_and_thresholds() {
        let o = parse(
            r#"{"vus": 5, "duration": "1m30s", "iterations": 40,
                "stages": [{"duration": "10s", "target": 3}, {"duration": 500, "target": 0}],
                "thresholds": {"http_req_duration{name:GET /}": ["p(95)<500", {"threshold": "p(99)<900", "abortOnFail": true, "delayAbortEval": "5s"}],
                               "http_req_failed": "rate<0.01"},
                "insecureSkipTLSVerify": true, "summaryTrendStats": ["avg"], "userAgent": "x",
                "setupTimeout": "5s", "teardownTimeout": 2000, "tags": {"team": "pay"},
                "batch": 64, "batchPerHost": 1}"#,
        )
        .unwrap();
        assert_eq!(o.load.vus, Some(5));
        assert_eq!(o.load.duration, Some(Duration::from_secs(90)));
        assert_eq!(o.load.iterations, Some(40));
        let stages = o.load.stages.unwrap();
        assert_eq!(stages[0].duration, Duration::from_secs(10));
        assert_eq!(
            (stages[1].duration, stages[1].target),
            (Duration::from_millis(500), 0)
        );
        assert_eq!(o.thresholds.len(), 3);
        let abort = o.thresholds.iter().find_map(|t| t.abort).unwrap();
        assert_eq!(abort.delay, Duration::from_secs(5));
        assert!(o.insecure);
        assert_eq!(o.setup_timeout, Some(Duration::from_secs(5)));
        assert_eq!(o.teardown_timeout, Some(Duration::from_secs(2)));
        assert_eq!(o.tags["team"], "pay");
        assert_eq!(o.ignored, vec!["userAgent".to_string()]);
    }

    #[test]
    fn bad_options_name_the_field() {
        for (json, want) in [
            (r#"{"vus": 0}"#, "options.vus"),
            (r#"{"duration": "soon"}"#, "options.duration"),
            (
                r#"{"stages": [{"target": 2}]}"#,
                "options.stages[0]: no duration",
            ),
            (
                r#"{"thresholds": {"http_req_duration": ["p(95)<<1"]}}"#,
                "options.thresholds",
            ),
            (r#"{"thresholds": {"http_req_duration": [7]}}"#, "neither"),
            ("[1]", "not an object"),
            (
                r#"{"batch": 65}"#,
                "options.batch: 65 requests of a batch at once",
            ),
            (r#"{"batchPerHost": 0}"#, "options.batchPerHost"),
        ] {
            let e = parse(json).unwrap_err().to_string();
            assert!(e.contains(want), "{json}: {e}");
        }
    }
}
