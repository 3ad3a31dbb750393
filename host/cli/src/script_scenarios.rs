//! k6's `options.scenarios`: each entry becomes a plan of ours by its executor (the
//! same six models, with k6's defaults), with its start time, tags and env. The
//! function it runs (`exec`) is picked inside the script by the scenario's name.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};
use stampede::executor::{Load, Plan, RateStage, Stage};

/// One of the script's scenarios, planned.
#[derive(Debug)]
pub struct ScriptScenario {
    pub name: String,
    pub plan: Plan,
    pub start_time: Duration,
    pub env: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

// k6's defaults.
const GRACEFUL_STOP: Duration = Duration::from_secs(30);
const MAX_DURATION: Duration = Duration::from_secs(600);

/// Reads `options.scenarios`; options Stampede does not apply go to `ignored`.
pub fn parse(v: &Value, ignored: &mut Vec<String>) -> Result<Vec<ScriptScenario>> {
    let map = v
        .as_object()
        .ok_or_else(|| anyhow!("options.scenarios: not an object of name: {{executor, ...}}"))?;
    if map.is_empty() {
        bail!("options.scenarios: no scenario in it");
    }
    map.iter()
        .map(|(name, s)| {
            let obj = s.as_object().ok_or_else(|| {
                anyhow!("options.scenarios.{name}: not an object such as {{executor: 'constant-vus', vus: 5, duration: '30s'}}")
            })?;
            Entry { name, obj }.plan(ignored)
        })
        .collect()
}

struct Entry<'a> {
    name: &'a str,
    obj: &'a Map<String, Value>,
}

impl Entry<'_> {
    fn field(&self, key: &str) -> String {
        format!("options.scenarios.{}.{key}", self.name)
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>> {
        self.obj
            .get(key)
            .map(|v| crate::script_values::duration(v, &self.field(key)))
            .transpose()
    }

    fn required_duration(&self, key: &str) -> Result<Duration> {
        self.duration(key)?
            .ok_or_else(|| anyhow!("{}: missing (such as \"30s\")", self.field(key)))
    }

    fn count(&self, key: &str) -> Result<Option<u64>> {
        self.obj
            .get(key)
            .map(|v| crate::script_values::count(v, &self.field(key)))
            .transpose()
    }

    /// A number of VUs or iterations, at least 1.
    fn positive(&self, key: &str, default: Option<u64>) -> Result<u64> {
        match self.count(key)?.or(default) {
            Some(0) => bail!("{}: at least 1 is needed", self.field(key)),
            Some(n) => Ok(n),
            None => bail!("{}: missing", self.field(key)),
        }
    }

    fn vus(&self, key: &str, default: Option<u64>) -> Result<u32> {
        u32::try_from(self.positive(key, default)?)
            .map_err(|_| anyhow!("{}: too many VUs", self.field(key)))
    }

    fn rate(&self, v: &Value, key: &str, per: Duration) -> Result<f64> {
        v.as_f64()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .map(|r| r / per.as_secs_f64())
            .ok_or_else(|| anyhow!("{}: {v} is not a rate", self.field(key)))
    }

    fn stages(&self) -> Result<Vec<(Duration, &Value)>> {
        let list = self
            .obj
            .get("stages")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("{}: missing, or not a list", self.field("stages")))?;
        list.iter()
            .enumerate()
            .map(|(i, s)| {
                let at = |k: &str| self.field(&format!("stages[{i}].{k}"));
                let d = s
                    .get("duration")
                    .ok_or_else(|| anyhow!("{}: missing", at("duration")))?;
                let t = s
                    .get("target")
                    .ok_or_else(|| anyhow!("{}: missing", at("target")))?;
                Ok((crate::script_values::duration(d, &at("duration"))?, t))
            })
            .collect()
    }

    fn strings(&self, key: &str) -> Result<BTreeMap<String, String>> {
        let Some(v) = self.obj.get(key) else {
            return Ok(BTreeMap::new());
        };
        let map = v
            .as_object()
            .ok_or_else(|| anyhow!("{}: not an object of names to strings", self.field(key)))?;
        map.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => bail!("{}.{k}: {other} is not a string", self.field(key)),
            })
            .collect()
    }

    fn plan(&self, ignored: &mut Vec<String>) -> Result<ScriptScenario> {
        let executor = self
            .obj
            .get("executor")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                anyhow!(
                    "{}: missing (such as \"constant-vus\")",
                    self.field("executor")
                )
            })?;
        // The keys each executor reads, besides the common ones.
        let (own, mut plan): (&[&str], Plan) = match executor {
            "shared-iterations" | "per-vu-iterations" => {
                let vus = self.vus("vus", Some(1))?;
                let n = self.positive("iterations", Some(1))?;
                let load = if executor == "shared-iterations" {
                    Load::iterations(n)
                } else {
                    Load::per_vu_iterations(n)
                };
                let max = self.duration("maxDuration")?.unwrap_or(MAX_DURATION);
                (
                    &["vus", "iterations", "maxDuration"],
                    Plan::new(vus, load.with_max_duration(max)),
                )
            }
            "constant-vus" => (
                &["vus", "duration"],
                Plan::new(
                    self.vus("vus", Some(1))?,
                    Load::duration(self.required_duration("duration")?),
                ),
            ),
            "ramping-vus" => {
                let start = u32::try_from(self.count("startVUs")?.unwrap_or(1))
                    .map_err(|_| anyhow!("{}: too many VUs", self.field("startVUs")))?;
                // A stage of no time jumps to the start count; ours ramp from 0.
                let mut stages: Vec<Stage> = (start > 0)
                    .then_some(Stage {
                        duration: Duration::ZERO,
                        target: start,
                    })
                    .into_iter()
                    .collect();
                for (i, (duration, t)) in self.stages()?.into_iter().enumerate() {
                    let target = crate::script_values::count(
                        t,
                        &self.field(&format!("stages[{i}].target")),
                    )?;
                    stages.push(Stage {
                        duration,
                        target: u32::try_from(target)
                            .map_err(|_| anyhow!("{}: too many VUs", self.field("stages")))?,
                    });
                }
                let peak = stages.iter().map(|s| s.target).max().unwrap_or(0);
                (
                    &["startVUs", "stages"],
                    Plan::new(peak.max(1), Load::stages(stages)),
                )
            }
            "constant-arrival-rate" | "ramping-arrival-rate" => {
                let per = self.duration("timeUnit")?.unwrap_or(Duration::from_secs(1));
                if per.is_zero() {
                    bail!("{}: must be more than 0s", self.field("timeUnit"));
                }
                let pre = self.vus("preAllocatedVUs", None)?;
                let max = match self.count("maxVUs")? {
                    Some(m) => u32::try_from(m).unwrap_or(u32::MAX),
                    None => pre,
                };
                if max < pre {
                    bail!(
                        "{}: {max} is below preAllocatedVUs ({pre})",
                        self.field("maxVUs")
                    );
                }
                let load = if executor == "constant-arrival-rate" {
                    let v = self
                        .obj
                        .get("rate")
                        .ok_or_else(|| anyhow!("{}: missing", self.field("rate")))?;
                    Load::rate(
                        self.rate(v, "rate", per)?,
                        self.required_duration("duration")?,
                    )
                } else {
                    let start = match self.obj.get("startRate") {
                        Some(v) => self.rate(v, "startRate", per)?,
                        None => 0.0,
                    };
                    let mut stages = Vec::new();
                    for (i, (duration, t)) in self.stages()?.into_iter().enumerate() {
                        stages.push(RateStage {
                            duration,
                            target: self.rate(t, &format!("stages[{i}].target"), per)?,
                        });
                    }
                    Load::ramping_rate(start, stages)
                };
                let mut plan = Plan::new(pre, load);
                plan.max_vus = max;
                (
                    &[
                        "rate",
                        "duration",
                        "timeUnit",
                        "preAllocatedVUs",
                        "maxVUs",
                        "startRate",
                        "stages",
                    ],
                    plan,
                )
            }
            "externally-controlled" => bail!(
                "{}: externally-controlled is not supported by Stampede (no REST API drives a run); use ramping-vus with stages",
                self.field("executor")
            ),
            other => bail!(
                "{}: {other:?} is not one of k6's executors (shared-iterations, per-vu-iterations, constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate)",
                self.field("executor")
            ),
        };
        plan.load
            .executor()
            .validate()
            .map_err(|e| anyhow!("options.scenarios.{}: {e}", self.name))?;
        plan.graceful_stop = self.duration("gracefulStop")?.unwrap_or(GRACEFUL_STOP);
        const COMMON: &[&str] = &[
            "executor",
            "startTime",
            "gracefulStop",
            "exec",
            "env",
            "tags",
        ];
        for key in self.obj.keys() {
            if !own.contains(&key.as_str()) && !COMMON.contains(&key.as_str()) {
                ignored.push(self.field(key).trim_start_matches("options.").to_string());
            }
        }
        if let Some(exec) = self.obj.get("exec")
            && !exec.is_string()
        {
            bail!(
                "{}: {exec} is not the name of an exported function",
                self.field("exec")
            );
        }
        Ok(ScriptScenario {
            name: self.name.to_string(),
            plan,
            start_time: self.duration("startTime")?.unwrap_or_default(),
            env: self.strings("env")?,
            tags: self.strings("tags")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(json: &str) -> (Vec<ScriptScenario>, Vec<String>) {
        let mut ignored = Vec::new();
        let v: Value = serde_json::from_str(json).unwrap();
        (parse(&v, &mut ignored).unwrap(), ignored)
    }

    #[test]
    fn each_executor_becomes_its_model_with_k6s_defaults() {
        let (s, ignored) = planned(
            r#"{
              "a": {"executor": "shared-iterations"},
              "b": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4, "maxDuration": "5s"},
              "c": {"executor": "constant-vus", "duration": "20s", "startTime": "5s", "env": {"K": "v"}, "tags": {"t": "1"}},
              "d": {"executor": "ramping-vus", "startVUs": 2, "stages": [{"duration": "10s", "target": 6}], "gracefulRampDown": "0s"},
              "e": {"executor": "constant-arrival-rate", "rate": 30, "timeUnit": "1m", "duration": "1m", "preAllocatedVUs": 2, "maxVUs": 5, "gracefulStop": "3s"},
              "f": {"executor": "ramping-arrival-rate", "startRate": 2, "stages": [{"duration": "10s", "target": 10}], "preAllocatedVUs": 4}
            }"#,
        );
        let by = |n: &str| s.iter().find(|x| x.name == n).unwrap();
        assert_eq!(
            by("a").plan.load,
            Load::iterations(1).with_max_duration(MAX_DURATION)
        );
        assert_eq!(
            (by("a").plan.vus, by("a").plan.graceful_stop),
            (1, GRACEFUL_STOP)
        );
        assert_eq!(
            by("b").plan.load,
            Load::per_vu_iterations(4).with_max_duration(Duration::from_secs(5))
        );
        assert_eq!(by("b").plan.vus, 3);
        let c = by("c");
        assert_eq!(c.plan.load, Load::duration(Duration::from_secs(20)));
        assert_eq!(c.start_time, Duration::from_secs(5));
        assert_eq!(c.env["K"], "v");
        assert_eq!(c.tags["t"], "1");
        let d = by("d");
        assert_eq!(
            d.plan.load,
            Load::stages(vec![
                Stage {
                    duration: Duration::ZERO,
                    target: 2
                },
                Stage {
                    duration: Duration::from_secs(10),
                    target: 6
                },
            ])
        );
        assert_eq!(d.plan.vus, 6);
        let e = by("e");
        assert_eq!(e.plan.load, Load::rate(0.5, Duration::from_secs(60)));
        assert_eq!((e.plan.vus, e.plan.max_vus), (2, 5));
        assert_eq!(e.plan.graceful_stop, Duration::from_secs(3));
        let f = by("f");
        assert_eq!(
            f.plan.load,
            Load::ramping_rate(
                2.0,
                vec![RateStage {
                    duration: Duration::from_secs(10),
                    target: 10.0
                }]
            )
        );
        assert_eq!((f.plan.vus, f.plan.max_vus), (4, 4));
        assert_eq!(ignored, vec!["scenarios.d.gracefulRampDown".to_string()]);
    }

    #[test]
    fn bad_scenarios_name_the_field() {
        for (json, want) in [
            (
                r#"{"x": {"vus": 2}}"#,
                "options.scenarios.x.executor: missing",
            ),
            (
                r#"{"x": {"executor": "constant-vus"}}"#,
                "options.scenarios.x.duration: missing",
            ),
            (
                r#"{"x": {"executor": "externally-controlled"}}"#,
                "not supported",
            ),
            (
                r#"{"x": {"executor": "soon"}}"#,
                "not one of k6's executors",
            ),
            (
                r#"{"x": {"executor": "shared-iterations", "vus": 0}}"#,
                "options.scenarios.x.vus: at least 1",
            ),
            (
                r#"{"x": {"executor": "constant-arrival-rate", "rate": 1, "duration": "1s"}}"#,
                "preAllocatedVUs: missing",
            ),
            (
                r#"{"x": {"executor": "constant-arrival-rate", "rate": 1, "duration": "1s", "preAllocatedVUs": 3, "maxVUs": 2}}"#,
                "below preAllocatedVUs",
            ),
            (
                r#"{"x": {"executor": "ramping-vus", "stages": [{"duration": "1s"}]}}"#,
                "stages[0].target: missing",
            ),
            (
                r#"{"x": {"executor": "constant-vus", "duration": "1s", "exec": 3}}"#,
                "exec: 3",
            ),
            (r#"{}"#, "no scenario"),
            (r#"[]"#, "not an object"),
        ] {
            let v: Value = serde_json::from_str(json).unwrap();
            let e = parse(&v, &mut Vec::new()).unwrap_err().to_string();
            assert!(e.contains(want), "{json}: {e}");
        }
    }
}
