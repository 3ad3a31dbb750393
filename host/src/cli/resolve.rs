//! Flags and `stampede.toml` merged into one validated job. A flag beats the file; a
//! flag that picks a different load model (say `--iterations` over the file's
//! `duration`) replaces the file's model rather than clashing with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

use super::{OutputArgs, RunArgs, parse_rules, parse_target, read_summary};
use crate::config::{self, FileConfig, LoadSection};
use crate::executor::segment::{Segment, split_by};
use crate::executor::{Load, Plan, RateStage, Stage};
use crate::gate::verdict::BaselineGate;
use crate::gate::{AbortRule, Gate, Threshold};
use crate::run::RunConfig;

/// Everything `stampede run` needs, checked before any load starts.
pub struct Job {
    /// One per scenario.
    pub cfgs: Vec<RunConfig>,
    pub gate: Gate,
    pub outputs: OutputArgs,
    pub quiet: bool,
    /// The config file used, if any (printed before the run).
    pub config_file: Option<PathBuf>,
}

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

impl From<&super::LoadArgs> for LoadSpec {
    fn from(a: &super::LoadArgs) -> Self {
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

fn parse_env(items: &[String]) -> Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("--env {kv:?}: expected KEY=VALUE, e.g. --env EMAIL=qa@example.com"),
        })
        .collect()
}

/// Which config file applies: `--config`, else `stampede.toml` beside the scenario,
/// else in the current folder when no scenario is named.
fn find_config(args: &RunArgs) -> Option<PathBuf> {
    if let Some(p) = &args.config {
        return Some(p.clone());
    }
    if args.no_config {
        return None;
    }
    let beside = match &args.scenario {
        Some(s) => s
            .parent()
            .unwrap_or(Path::new(""))
            .join(config::DEFAULT_NAME),
        None => PathBuf::from(config::DEFAULT_NAME),
    };
    beside.is_file().then_some(beside)
}

pub fn resolve(args: &RunArgs) -> Result<Job> {
    let config_file = find_config(args);
    let file = match &config_file {
        Some(p) => config::load(p)?.config,
        None => FileConfig::default(),
    };
    let in_file = |what: &str| match &config_file {
        Some(p) => format!("{what} in {}", p.display()),
        None => what.to_string(),
    };
    let top_load = LoadSpec::from(&args.load).over(&LoadSpec::from(&file.load));
    let top_env = merged_env(&file.env, &BTreeMap::new(), &args.env)?;
    let flag_target = args.target.as_deref().map(parse_target).transpose()?;

    let (thresholds, aborts) = gate(&file, &args.thresholds)?;

    let mut cfgs = Vec::new();
    if file.scenarios.is_empty() {
        let Some(scenario) = args.scenario.clone().or(file.scenario.clone()) else {
            bail!(
                "no scenario: pass one (stampede run checkout.wasm) or set `scenario = \"checkout.wasm\"` in {}",
                config_file
                    .as_deref()
                    .unwrap_or(Path::new(config::DEFAULT_NAME))
                    .display()
            );
        };
        let plan = top_load.plan().map_err(|e| {
            if config_file.is_some() {
                anyhow::anyhow!("{e} (flags, or {})", in_file("[load]"))
            } else {
                e
            }
        })?;
        let mut cfg = RunConfig::new(scenario, plan);
        cfg.target = flag_target.or(file.target.clone().map(|t| t.0));
        cfg.env = top_env;
        apply_limits(&mut cfg, args, &file, None)?;
        apply_network(&mut cfg, args, &file, &[])?;
        cfg.aborts = aborts;
        cfgs.push(cfg);
    } else {
        if args.scenario.is_some() || file.scenario.is_some() {
            bail!(
                "{} lists [scenarios]: name no other scenario (drop the SCENARIO argument and the top-level `scenario`)",
                in_file("the config")
            );
        }
        let shares = weighted_plans(&file, &top_load)
            .map_err(|e| anyhow::anyhow!("{}: {e}", in_file("[scenarios]")))?;
        for (name, sec) in &file.scenarios {
            let plan = match &sec.load {
                Some(l) => LoadSpec::from(l).plan().map_err(|e| {
                    anyhow::anyhow!("{e} ({})", in_file(&format!("[scenarios.{name}.load]")))
                })?,
                None => shares[name].clone(),
            };
            let mut cfg = RunConfig::new(sec.scenario.clone(), plan);
            cfg.name = Some(name.clone());
            cfg.start_delay = sec.start_time.map(|d| d.0).unwrap_or_default();
            cfg.tags = sec.tags.clone();
            cfg.target = flag_target
                .clone()
                .or(sec.target.clone().map(|t| t.0))
                .or(file.target.clone().map(|t| t.0));
            cfg.env = merged_env(&file.env, &sec.env, &args.env)?;
            apply_limits(&mut cfg, args, &file, sec.limits.as_ref())?;
            apply_network(&mut cfg, args, &file, &sec.allow_hosts)?;
            // Its own abort rules without the tag, and the untagged ones (judged on
            // its own figures: an abort anywhere stops the whole run).
            for r in &aborts {
                match &r.threshold.tag {
                    Some((k, v)) if k == "scenario" && v == name => cfg.aborts.push(AbortRule {
                        threshold: Threshold {
                            tag: None,
                            ..r.threshold.clone()
                        },
                        delay: r.delay,
                    }),
                    Some((k, _)) if k == "scenario" => {}
                    _ => cfg.aborts.push(r.clone()),
                }
            }
            cfgs.push(cfg);
        }
    }

    apply_segment(&mut cfgs, &args.segments)?;
    Ok(Job {
        cfgs,
        gate: Gate {
            thresholds,
            allow_failures: args.baseline.allow_failures || file.allow_failures,
            baseline: baseline(&args.baseline, file.baseline)?,
        },
        outputs: outputs(&args.outputs, file.outputs),
        quiet: args.quiet,
        config_file,
    })
}

/// The thresholds to judge by, and those that abort: a flag replaces the file's
/// thresholds on the same metric and tag.
pub fn gate(file: &FileConfig, flags: &[String]) -> Result<(Vec<Threshold>, Vec<AbortRule>)> {
    let flags = super::parse_thresholds(flags)?;
    let replaced = |t: &Threshold| flags.iter().any(|f| f.metric == t.metric && f.tag == t.tag);
    let mut thresholds = Vec::new();
    let mut aborts = Vec::new();
    for spec in &file.thresholds {
        for t in spec.parsed.iter().filter(|t| !replaced(t)) {
            thresholds.push(t.clone());
            if let Some(a) = spec.abort {
                aborts.push(AbortRule {
                    threshold: t.clone(),
                    delay: a.delay,
                });
            }
        }
    }
    thresholds.extend(flags);
    Ok((thresholds, aborts))
}

/// The baseline to compare with: flags over the file's `[baseline]`.
pub fn baseline(
    args: &super::BaselineArgs,
    file: Option<config::BaselineSection>,
) -> Result<Option<BaselineGate>> {
    let file = file.unwrap_or(config::BaselineSection {
        file: None,
        rules: Vec::new(),
        min_samples: None,
    });
    let Some(path) = args.baseline.clone().or(file.file) else {
        return Ok(None);
    };
    let rules = if !args.rules.is_empty() || file.rules.is_empty() {
        parse_rules("--baseline-rule", &args.rules)?
    } else {
        file.rules.into_iter().map(|r| r.0).collect()
    };
    Ok(Some(BaselineGate {
        summary: read_summary("--baseline", &path)?,
        rules,
        min_samples: args
            .baseline_min_samples
            .or(file.min_samples)
            .unwrap_or(crate::gate::baseline::DEFAULT_MIN_SAMPLES),
    }))
}

/// Report files: flags over the file's `[outputs]`.
pub fn outputs(flags: &OutputArgs, file: config::OutputsSection) -> OutputArgs {
    OutputArgs {
        summary_json: flags.summary_json.clone().or(file.summary_json),
        junit: flags.junit.clone().or(file.junit),
        markdown: flags.markdown.clone().or(file.markdown),
        html: flags.html.clone().or(file.html),
    }
}

/// Splits every scenario for `--segment` / `--segments`, fingerprints the whole plan
/// and sets the `--start-at` time zero.
fn apply_segment(cfgs: &mut [RunConfig], args: &super::SegmentArgs) -> Result<()> {
    let segment = match (&args.segment, args.segments) {
        (Some(s), _) => Some(Segment::parse(s).map_err(anyhow::Error::msg)?),
        (None, Some(n)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                anyhow::anyhow!(
                    "--segments {n} needs $JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job); or pass --segment I/{n}"
                )
            })?;
            let index: u32 = index
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("$JOB_COMPLETION_INDEX {index:?} is not a number"))?;
            Some(Segment::from_index(index, n).map_err(anyhow::Error::msg)?)
        }
        (None, None) => None,
    };
    let epoch = match &args.start_at {
        None => None,
        Some(t) => {
            let at = humantime::parse_rfc3339_weak(t).map_err(|e| {
                anyhow::anyhow!("--start-at {t:?}: {e}; write it like 2026-11-24T10:00:00Z")
            })?;
            let now = std::time::SystemTime::now();
            let instant = std::time::Instant::now();
            Some(match at.duration_since(now) {
                Ok(ahead) => instant + ahead,
                // Already past: start at once rather than pretend.
                Err(_) => instant,
            })
        }
    };
    for cfg in cfgs.iter_mut() {
        // The whole plan, before splitting: equal in every segment of one run.
        cfg.plan_id = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            cfg.name, cfg.plan, cfg.env, cfg.start_delay, cfg.target
        );
        cfg.epoch = epoch;
        if let Some(seg) = segment {
            let (plan, offset) = seg.split(&cfg.plan);
            cfg.plan = plan;
            cfg.vu_id_offset = offset;
            cfg.segment = Some(seg);
        }
    }
    Ok(())
}

/// The file's env, then the scenario's, then `--env` flags; later ones win.
fn merged_env(
    file: &BTreeMap<String, String>,
    scenario: &BTreeMap<String, String>,
    flags: &[String],
) -> Result<Vec<(String, String)>> {
    let mut env: BTreeMap<String, String> = file.clone();
    env.extend(scenario.clone());
    env.extend(parse_env(flags)?);
    Ok(env.into_iter().collect())
}

/// TLS, cache and instance limits: flags over the scenario's `[limits]` over the file's.
fn apply_limits(
    cfg: &mut RunConfig,
    args: &RunArgs,
    file: &FileConfig,
    own: Option<&config::LimitsSection>,
) -> Result<()> {
    cfg.insecure = args.insecure || file.tls.insecure;
    cfg.ca_certs = file.tls.ca_certs.clone();
    cfg.ca_certs.extend(args.ca_cert.iter().cloned());
    if let Some(d) = &args.cache_dir {
        cfg.cache_dir = Some(d.clone());
    }
    if args.no_cache {
        cfg.cache_dir = None;
    }
    let pick = |f: fn(&config::LimitsSection) -> Option<u64>| own.and_then(f).or(f(&file.limits));
    if let Some(t) = args.timeout.or(own
        .and_then(|l| l.timeout)
        .or(file.limits.timeout)
        .map(|d| d.0))
    {
        cfg.request_timeout = t;
    }
    if let Some(f) = args.max_fuel.or(pick(|l| l.max_fuel)) {
        cfg.limits.fuel_per_call = f;
    }
    let mib = match args.max_memory_mib {
        Some(m) if m == 0 || m > 4096 => bail!("--max-memory-mib {m}: choose between 1 and 4096"),
        Some(m) => Some(m),
        None => pick(|l| l.max_memory_mib.map(|m| m.0)),
    };
    if let Some(m) = mib {
        cfg.limits.memory_cap = (m as usize) << 20;
    }
    if let Some(t) = args.max_task_time.or(own
        .and_then(|l| l.max_task_time)
        .or(file.limits.max_task_time)
        .map(|d| d.0))
    {
        if t.is_zero() {
            bail!("--max-task-time 0s: a task needs some time");
        }
        cfg.limits.task_timeout = t;
    }
    let body = match args.max_body_mib {
        Some(m) if m == 0 || m > 4096 => bail!("--max-body-mib {m}: choose between 1 and 4096"),
        Some(m) => Some(m),
        None => pick(|l| l.max_body_mib.map(|m| m.0)),
    };
    if let Some(m) = body {
        cfg.max_body = (m as usize) << 20;
    }
    cfg.truncate_bodies = args.truncate_bodies
        || own
            .and_then(|l| l.truncate_bodies)
            .or(file.limits.truncate_bodies)
            .unwrap_or(false);
    cfg.verbose = args.verbose;
    Ok(())
}

/// The allowlist and fixed resolutions: the file's, the scenario's and the flags'.
/// Checked here so a bad entry fails before anything is loaded.
fn apply_network(
    cfg: &mut RunConfig,
    args: &RunArgs,
    file: &FileConfig,
    own: &[String],
) -> Result<()> {
    cfg.allow_hosts = file.allow_hosts.clone();
    cfg.allow_hosts.extend(own.iter().cloned());
    cfg.allow_hosts.extend(args.allow_hosts.iter().cloned());
    crate::client::policy::NetPolicy::new(cfg.target.as_ref(), &cfg.allow_hosts)
        .map_err(anyhow::Error::msg)?;
    cfg.resolve = file
        .resolve
        .iter()
        .chain(&args.resolve)
        .map(|r| crate::client::FixedResolver::parse(r).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    Ok(())
}

/// Plans for the scenarios without a `[load]` of their own: shares of the top-level
/// load by `weight` (default 1), as Locust shares users among its user classes. VUs,
/// shared iterations and rates split exactly (largest remainder); durations and
/// per-VU iterations apply to each share as they are.
fn weighted_plans(file: &FileConfig, top: &LoadSpec) -> Result<BTreeMap<String, Plan>> {
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

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
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
