//! The load as flags and `stampede.toml` give it: every field optional, a flag
//! beating the file's field, and the plan made from them (which model, how many VUs),
//! including the shares of scenarios that split one `[load]` by weight.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::config::{FileConfig, LoadSection};
use stampede::executor::segment::split_by;
use stampede::executor::{Load, Plan, RateStage, Stage};

/// The load with every field optional: what the flags say, or the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadSpec {
    pub vus: Option<u32>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
    pub iterations_per_vu: Option<u64>,
    pub rate: Option<f64>,
    pub stages: Option<Vec<Stage>>,
    pub start_rate: Option<f64>,
    pub rate_stages: Option<Vec<RateStage>>,
    pub max_vus: Option<u32>,
    pub graceful_stop: Option<Duration>,
}

impl From<&crate::LoadArgs> for LoadSpec {
    fn from(a: &crate::LoadArgs) -> Self {
        if let (Some(rate), Some(vus), Some(duration)) = (a.spawn_rate, a.vus, a.duration) {
            return LoadSpec {
                stages: Some(spawn_stages(vus, rate, duration)),
                max_vus: a.max_vus,
                graceful_stop: a.graceful_stop,
                ..LoadSpec::default()
            };
        }
        LoadSpec {
            vus: a.vus,
            duration: a.duration,
            iterations: a.iterations,
            iterations_per_vu: a.iterations_per_vu,
            rate: a.rate,
            stages: a.stages.clone().map(|s| s.0),
            start_rate: None,
            rate_stages: None,
            max_vus: a.max_vus,
            graceful_stop: a.graceful_stop,
        }
    }
}

/// Locust's `-u N -r R -t T`: ramp to N users at R a second, then hold them until T.
fn spawn_stages(vus: u32, rate: f64, duration: Duration) -> Vec<Stage> {
    let secs = if rate > 0.0 { vus as f64 / rate } else { 0.0 };
    let ramp = Duration::from_secs_f64(secs.min(duration.as_secs_f64()));
    let mut stages = Vec::new();
    if !ramp.is_zero() {
        stages.push(Stage {
            duration: ramp,
            target: vus,
        });
    }
    if duration > ramp {
        stages.push(Stage {
            duration: duration - ramp,
            target: vus,
        });
    }
    stages
}

impl From<&LoadSection> for LoadSpec {
    fn from(l: &LoadSection) -> Self {
        LoadSpec {
            vus: l.vus.map(|v| v.get()),
            duration: l.duration.map(|d| d.0),
            iterations: l.iterations.map(|n| n.0),
            iterations_per_vu: l.iterations_per_vu.map(|n| n.0),
            rate: l.rate.map(|r| r.0),
            stages: l
                .stages
                .as_ref()
                .map(|s| s.iter().map(Stage::from).collect()),
            start_rate: l.start_rate,
            rate_stages: l
                .rate_stages
                .as_ref()
                .map(|s| s.iter().map(RateStage::from).collect()),
            max_vus: l.max_vus.map(|v| v.get()),
            graceful_stop: l.graceful_stop.map(|d| d.0),
        }
    }
}

impl LoadSpec {
    /// `self` (the flags) over `file`. A flag that sets the model drops the file's
    /// fields of other models.
    pub fn over(&self, file: &LoadSpec) -> LoadSpec {
        let mut f = file.clone();
        let closed =
            self.stages.is_some() || self.iterations.is_some() || self.iterations_per_vu.is_some();
        if closed || self.rate.is_some() {
            // The flags have no ramping arrival rate: a model flag replaces it (a lone
            // --duration does not pick a model; over rate_stages it is an error).
            f.start_rate = None;
            f.rate_stages = None;
        }
        if closed {
            f.max_vus = None;
        }
        if self.stages.is_some() {
            f.vus = None;
            f.duration = None;
            f.rate = None;
        }
        if self.stages.is_some() || self.iterations.is_some() || self.iterations_per_vu.is_some() {
            f.duration = None;
            f.rate = None;
            f.iterations = None;
            f.iterations_per_vu = None;
        }
        if self.stages.is_some() || self.rate.is_some() || self.duration.is_some() {
            f.iterations = None;
            f.iterations_per_vu = None;
            f.stages = None;
        }
        if self.vus.is_some() {
            f.stages = None;
        }
        LoadSpec {
            vus: self.vus.or(f.vus),
            duration: self.duration.or(f.duration),
            iterations: self.iterations.or(f.iterations),
            iterations_per_vu: self.iterations_per_vu.or(f.iterations_per_vu),
            rate: self.rate.or(f.rate),
            stages: self.stages.clone().or(f.stages),
            start_rate: f.start_rate,
            rate_stages: f.rate_stages,
            max_vus: self.max_vus.or(f.max_vus),
            graceful_stop: self.graceful_stop.or(f.graceful_stop),
        }
    }

    /// The plan, or which settings clash (named as flags; the file uses the same names
    /// with underscores).
    pub fn plan(&self) -> Result<Plan> {
        let graceful_stop = self.graceful_stop.unwrap_or(Duration::from_secs(10));
        if self.vus == Some(0) {
            bail!("--vus 0: at least one virtual user is needed");
        }
        let modes = [
            ("--stages", self.stages.is_some()),
            ("--iterations", self.iterations.is_some()),
            ("--iterations-per-vu", self.iterations_per_vu.is_some()),
            ("--rate", self.rate.is_some()),
            ("rate_stages", self.rate_stages.is_some()),
        ];
        let set: Vec<&str> = modes.iter().filter(|m| m.1).map(|m| m.0).collect();
        if set.len() > 1 {
            bail!(
                "{} cannot be combined: each picks a different load model",
                set.join(" and ")
            );
        }
        let open = self.rate.is_some() || self.rate_stages.is_some();
        if self.max_vus.is_some() && !open {
            bail!("--max-vus applies to an arrival rate (--rate, or rate_stages in the config)");
        }
        if self.start_rate.is_some() && self.rate_stages.is_none() {
            bail!("start_rate needs rate_stages in [load]");
        }
        let load = if let Some(stages) = &self.stages {
            if self.vus.is_some() || self.duration.is_some() {
                bail!("--stages sets the VUs and the duration itself: drop --vus and --duration");
            }
            Load::stages(stages.clone())
        } else if open {
            self.open_load()?
        } else {
            match (self.duration, self.iterations, self.iterations_per_vu) {
                (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                    bail!("--duration and an iteration count cannot be combined: pick one")
                }
                (_, Some(n), _) => Load::iterations(n),
                (_, _, Some(n)) => Load::per_vu_iterations(n),
                (Some(d), None, None) => Load::duration(d),
                (None, None, None) => Load::iterations(1),
            }
        };
        let executor = load.executor();
        executor.validate().map_err(anyhow::Error::msg)?;
        let vus = self.vus.or_else(|| executor.default_vus()).unwrap_or(1);
        let max_vus = self.max_vus.unwrap_or(vus);
        if max_vus < vus {
            bail!("--max-vus {max_vus} is below the {vus} VUs set up in advance (--vus)");
        }
        let mut plan = Plan::new(vus, load);
        plan.max_vus = max_vus;
        plan.graceful_stop = graceful_stop;
        Ok(plan)
    }

    /// A constant (`--rate`) or ramping (`rate_stages`) arrival rate.
    fn open_load(&self) -> Result<Load> {
        if let Some(stages) = &self.rate_stages {
            if self.duration.is_some() {
                bail!("rate_stages set the duration themselves: drop --duration");
            }
            return Ok(Load::ramping_rate(
                self.start_rate.unwrap_or(0.0),
                stages.clone(),
            ));
        }
        let rate = self.rate.unwrap_or_default();
        let Some(duration) = self.duration else {
            bail!("--rate needs --duration, e.g. --rate {rate} --duration 30s");
        };
        Ok(Load::rate(rate, duration))
    }
}

/// Plans for the scenarios without a `[load]` of their own: shares of the top-level
/// load by `weight` (default 1), as Locust shares users among its user classes. VUs,
/// shared iterations and rates split exactly (largest remainder); durations and
/// per-VU iterations apply to each share as they are.
pub fn weighted_plans(file: &FileConfig, top: &LoadSpec) -> Result<BTreeMap<String, Plan>> {
    let sharing: Vec<(&String, u64)> = file
        .scenarios
        .iter()
        .filter(|(_, s)| s.load.is_none())
        .map(|(n, s)| (n, s.weight.map_or(1, |w| w.get() as u64)))
        .collect();
    let mut out = BTreeMap::new();
    if sharing.is_empty() {
        return Ok(out);
    }
    let plan = top.plan().map_err(|e| {
        anyhow::anyhow!("{e}: scenarios without their own [load] share the top-level [load]")
    })?;
    let weights: Vec<u64> = sharing.iter().map(|s| s.1).collect();
    let vus = split_by(plan.vus as u64, &weights);
    let max_vus = split_by(plan.max_vus as u64, &weights);
    for (i, (name, w)) in sharing.iter().enumerate() {
        let total: u64 = weights.iter().sum();
        let Some(load) = plan.executor().weighted(&weights, i) else {
            bail!(
                "weights share constant VUs, iterations or a constant rate; give scenario {name:?} its own [scenarios.{name}.load] for stages"
            );
        };
        if vus[i] == 0 || load == Load::iterations(0) {
            bail!(
                "scenario {name:?} gets nothing of {} VUs at weight {w} of {total}: raise the top-level vus or its weight",
                plan.vus
            );
        }
        let mut p = Plan::new(vus[i] as u32, load);
        p.max_vus = max_vus[i].max(vus[i]) as u32;
        p.graceful_stop = plan.graceful_stop;
        out.insert((*name).clone(), p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn locusts_users_spawn_rate_and_run_time_are_a_ramp_then_a_hold() {
        use clap::Parser;
        let cli = crate::Cli::try_parse_from([
            "stampede",
            "run",
            "x.py",
            "-H",
            "http://127.0.0.1:1",
            "-u",
            "50",
            "-r",
            "10",
            "-t",
            "1m",
        ])
        .unwrap();
        let crate::Command::Run(run) = cli.command else {
            panic!("not a run")
        };
        assert_eq!(run.target.as_deref(), Some("http://127.0.0.1:1"));
        let spec = LoadSpec::from(&run.load);
        let stage = |s, target| Stage {
            duration: Duration::from_secs(s),
            target,
        };
        assert_eq!(spec.stages, Some(vec![stage(5, 50), stage(55, 50)]));
        assert_eq!((spec.vus, spec.duration), (None, None));
        // A rate too slow to reach the users within the run ramps for all of it.
        assert_eq!(
            spawn_stages(10, 1e-300, Duration::from_secs(3)),
            vec![stage(3, 10)]
        );
        assert_eq!(
            spawn_stages(10, 0.0, Duration::from_secs(3)),
            vec![stage(3, 10)]
        );
    }

    #[test]
    fn flags_override_the_file_field_by_field() {
        let file = LoadSpec {
            vus: Some(20),
            duration: secs(30),
            ..Default::default()
        };
        let flags = LoadSpec {
            duration: secs(5),
            ..Default::default()
        };
        let p = flags.over(&file).plan().unwrap();
        assert_eq!(
            (p.vus, p.load),
            (20, Load::duration(Duration::from_secs(5)))
        );
    }

    #[test]
    fn a_flag_that_picks_another_model_replaces_the_files() {
        let file = LoadSpec {
            vus: Some(20),
            duration: secs(30),
            ..Default::default()
        };
        let flags = LoadSpec {
            iterations: Some(7),
            ..Default::default()
        };
        let p = flags.over(&file).plan().unwrap();
        assert_eq!((p.vus, p.load), (20, Load::iterations(7)));

        let stages = vec![Stage {
            duration: Duration::from_secs(2),
            target: 3,
        }];
        let flags = LoadSpec {
            stages: Some(stages.clone()),
            ..Default::default()
        };
        let p = flags.over(&file).plan().unwrap();
        assert_eq!((p.vus, p.load), (3, Load::stages(stages)));

        let file = LoadSpec {
            rate: Some(50.0),
            duration: secs(30),
            ..Default::default()
        };
        let flags = LoadSpec {
            rate: Some(10.0),
            ..Default::default()
        };
        let p = flags.over(&file).plan().unwrap();
        assert!(p.load == Load::rate(10.0, Duration::from_secs(30)));
    }

    #[test]
    fn clashes_are_named() {
        let e = |spec: LoadSpec| spec.plan().unwrap_err().to_string();
        assert!(
            e(LoadSpec {
                rate: Some(5.0),
                ..Default::default()
            })
            .contains("--rate needs --duration")
        );
        assert!(
            e(LoadSpec {
                rate: Some(5.0),
                iterations: Some(3),
                ..Default::default()
            })
            .contains("--iterations and --rate cannot be combined")
        );
        assert!(
            e(LoadSpec {
                duration: secs(3),
                iterations_per_vu: Some(3),
                ..Default::default()
            })
            .contains("--duration and an iteration count")
        );
        assert!(
            e(LoadSpec {
                vus: Some(3),
                stages: Some(vec![Stage {
                    duration: Duration::from_secs(1),
                    target: 1
                }]),
                ..Default::default()
            })
            .contains("drop --vus")
        );
    }

    #[test]
    fn arrival_rates_plan_their_vus() {
        let p = LoadSpec {
            rate: Some(20.0),
            duration: secs(10),
            max_vus: Some(50),
            ..Default::default()
        }
        .plan()
        .unwrap();
        assert_eq!((p.vus, p.max_vus), (20, 50));
        let ramp = vec![
            RateStage {
                duration: Duration::from_secs(10),
                target: 300.0,
            },
            RateStage {
                duration: Duration::from_secs(10),
                target: 0.0,
            },
        ];
        let p = LoadSpec {
            start_rate: Some(10.0),
            rate_stages: Some(ramp.clone()),
            ..Default::default()
        }
        .plan()
        .unwrap();
        // Set up for the peak rate; the plan prints its stages.
        assert_eq!((p.vus, p.max_vus), (300, 300));
        let text = p.describe().join("\n");
        assert!(
            text.starts_with("ramping-arrival-rate: 3050 iterations over 20s"),
            "{text}"
        );
        assert!(text.contains("stage 1: 0s → 10s: 10/s → 300/s"), "{text}");
        let e = |spec: LoadSpec| spec.plan().unwrap_err().to_string();
        assert!(
            e(LoadSpec {
                vus: Some(2),
                max_vus: Some(5),
                duration: secs(1),
                ..Default::default()
            })
            .contains("--max-vus applies to an arrival rate")
        );
        assert!(
            e(LoadSpec {
                rate_stages: Some(ramp),
                duration: secs(1),
                ..Default::default()
            })
            .contains("rate_stages set the duration themselves")
        );
        // A flag model replaces the file's ramping rate.
        let file = LoadSpec {
            rate_stages: Some(vec![RateStage {
                duration: Duration::from_secs(1),
                target: 5.0,
            }]),
            max_vus: Some(9),
            ..Default::default()
        };
        let flags = LoadSpec {
            iterations: Some(3),
            ..Default::default()
        };
        assert_eq!(flags.over(&file).plan().unwrap().load, Load::iterations(3));
    }

    #[test]
    fn weights_split_exactly() {
        assert_eq!(split_by(10, &[3, 1]), vec![8, 2]);
        assert_eq!(split_by(7, &[1, 1, 1]), vec![3, 2, 2]);
        assert_eq!(split_by(100, &[1, 2]), vec![33, 67]);
        assert_eq!(split_by(2, &[1, 1, 1]), vec![1, 1, 0]);
    }

    #[test]
    fn weighted_scenarios_share_the_top_level_load() {
        let file = config::parse(
            r#"
[load]
vus = 10
iterations = 100

[scenarios.browse]
scenario = "a.wasm"
weight = 3

[scenarios.checkout]
scenario = "b.wasm"

[scenarios.spike]
scenario = "c.wasm"
load = { rate = 50, duration = "10s" }
"#,
        )
        .unwrap();
        let plans = weighted_plans(&file, &LoadSpec::from(&file.load)).unwrap();
        assert_eq!(plans.len(), 2, "spike has its own load");
        let (b, c) = (&plans["browse"], &plans["checkout"]);
        assert_eq!((b.vus, b.load.clone()), (8, Load::iterations(75)));
        assert_eq!((c.vus, c.load.clone()), (2, Load::iterations(25)));

        let file = config::parse(
            "[load]\nvus = 1\nduration = \"1s\"\n[scenarios.a]\nscenario = \"a.wasm\"\n[scenarios.b]\nscenario = \"b.wasm\"\n",
        )
        .unwrap();
        let e = weighted_plans(&file, &LoadSpec::from(&file.load)).unwrap_err();
        assert!(e.to_string().contains("gets nothing of 1 VUs"), "{e}");
    }

    #[test]
    fn a_duration_flag_keeps_the_files_arrival_rate_and_its_vus() {
        let file = LoadSpec {
            rate: Some(100.0),
            duration: secs(300),
            vus: Some(10),
            max_vus: Some(200),
            ..Default::default()
        };
        let flags = LoadSpec {
            duration: secs(30),
            ..Default::default()
        };
        let p = flags.over(&file).plan().unwrap();
        assert_eq!((p.vus, p.max_vus), (10, 200));
        assert!(p.load == Load::rate(100.0, Duration::from_secs(30)));
    }
}
