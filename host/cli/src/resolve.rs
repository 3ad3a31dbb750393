//! Flags and `stampede.toml` merged into one validated job. A flag beats the file; a
//! flag that picks a different load model (say `--iterations` over the file's
//! `duration`) replaces the file's model rather than clashing with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::baseline::UseHistory;
use crate::config::{self, FileConfig};
use crate::history::{DEFAULT_KEEP, DEFAULT_LABEL, History};
use crate::load::{LoadSpec, weighted_plans};
use crate::thresholds::{aborts_of, gate};
use crate::{OutputArgs, RunArgs, parse_rules, parse_target, read_summary};
use stampede::executor::segment::Segment;
use stampede::executor::{Load, Plan};
use stampede::gate::Gate;
use stampede::gate::verdict::BaselineGate;
use stampede::run::RunConfig;

/// Everything `stampede run` needs, checked before any load starts.
pub struct Job {
    /// One per scenario.
    pub cfgs: Vec<RunConfig>,
    pub gate: Gate,
    pub outputs: OutputArgs,
    pub quiet: bool,
    /// A `--baseline-dir` history, read once the run's fingerprint is known.
    pub history: Option<UseHistory>,
    /// The config file used, if any (printed before the run).
    pub config_file: Option<PathBuf>,
}

pub(crate) fn parse_env(items: &[String]) -> Result<Vec<(String, String)>> {
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
    let top_env = merged_env(&file.env, &BTreeMap::new(), args)?;
    let flag_target = args.target.as_deref().map(parse_target).transpose()?;

    let (mut thresholds, aborts) = gate(&file, &args.thresholds, &[])?;

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
        // Planned below, once the scenario's own options (k6's) are known.
        let mut cfg = RunConfig::new(scenario, Plan::new(1, Load::iterations(1)));
        cfg.target = flag_target.or(file.target.clone().map(|t| t.0));
        cfg.env = top_env;
        apply_limits(&mut cfg, args, &file, None)?;
        apply_network(&mut cfg, args, &file, &[])?;
        build_source(&mut cfg)?;
        // The script's options may read its data (k6's init code runs for them).
        crate::data::apply(std::slice::from_mut(&mut cfg), args, &file)?;
        let script = script_options(&cfg, args.quiet)?;
        match &script {
            Some(o) => {
                if cfg.target.is_none()
                    && let Some(h) = &o.host
                {
                    // A locustfile's user classes name the target when the run does not.
                    cfg.target = Some(stampede::parse::parse_target_url(h).map_err(|e| {
                        anyhow::anyhow!(
                            "{}: the user class's host {h:?}: {e}",
                            cfg.scenario.display()
                        )
                    })?);
                }
                cfg.insecure |= o.insecure;
                cfg.tags = o.tags.clone();
                cfg.setup_timeout = o.setup_timeout;
                cfg.teardown_timeout = o.teardown_timeout;
                let (t, a) = gate(&file, &args.thresholds, &o.thresholds)?;
                thresholds = t;
                cfg.aborts = a;
            }
            None => cfg.aborts = aborts.clone(),
        }
        let k6_scenarios = script.as_ref().filter(|o| !o.scenarios.is_empty());
        match k6_scenarios {
            Some(o) if top_load == LoadSpec::default() => {
                cfgs = script_scenarios(&cfg, o, &file, args)?;
            }
            _ => {
                if let Some(o) = k6_scenarios {
                    // k6's flags override its scenarios too: the flags' load runs instead.
                    let names: Vec<&str> = o.scenarios.iter().map(|s| s.name.as_str()).collect();
                    eprintln!(
                        "stampede: warning: {}: options.scenarios ({}) replaced by the load given on the command line or in stampede.toml",
                        cfg.scenario.display(),
                        names.join(", ")
                    );
                }
                let load = match &script {
                    Some(o) => top_load.over(&o.load),
                    None => top_load.clone(),
                };
                cfg.plan = load.plan().map_err(|e| {
                    if config_file.is_some() {
                        anyhow::anyhow!("{e} (flags, or {})", in_file("[load]"))
                    } else if script.is_some() {
                        anyhow::anyhow!("{e} (flags, or the script's options)")
                    } else {
                        e
                    }
                })?;
                cfgs.push(cfg);
            }
        }
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
            cfg.env = merged_env(&file.env, &sec.env, args)?;
            apply_limits(&mut cfg, args, &file, sec.limits.as_ref())?;
            apply_network(&mut cfg, args, &file, &sec.allow_hosts)?;
            cfg.aborts = aborts_of(&aborts, name);
            cfgs.push(cfg);
        }
    }

    for cfg in &mut cfgs {
        if cfg.scenario_bytes.is_none() {
            build_source(cfg)?;
        }
        // A Python source's (a locustfile's) `self.host` and `environment.host` are the
        // run's target (`-H`), as Locust's runner sets them; an --env LOCUST_HOST given
        // stays. Other scenarios' environment is the --env values alone.
        if let Some(t) = &cfg.target
            && crate::source::kind_of(&cfg.scenario) == Some(crate::source::Kind::Python)
            && !cfg.env.iter().any(|(k, _)| k == "LOCUST_HOST")
        {
            cfg.env.push((
                "LOCUST_HOST".into(),
                t.as_str().trim_end_matches('/').into(),
            ));
        }
    }
    apply_segment(&mut cfgs, &args.segments)?;
    // Again, now that segments are known: they split the rows sequential feeders give.
    crate::data::apply(&mut cfgs, args, &file)?;
    crate::thresholds::keep_tags(&thresholds, &mut cfgs);
    let (baseline, history) = baseline(&args.baseline, file.baseline)?;
    Ok(Job {
        cfgs,
        gate: Gate {
            thresholds,
            allow_failures: args.baseline.allow_failures || file.allow_failures,
            baseline,
        },
        outputs: outputs(&args.outputs, file.outputs),
        quiet: args.quiet,
        history,
        config_file,
    })
}

/// A k6 script's `scenarios`: one run of the script each, named as in the script (its
/// runner picks `exec` by that name), sharing one setup and one teardown.
fn script_scenarios(
    base: &RunConfig,
    o: &crate::script_options::ScriptOptions,
    file: &FileConfig,
    args: &RunArgs,
) -> Result<Vec<RunConfig>> {
    let group = stampede::run::OnceGroup::new(o.scenarios.len());
    o.scenarios
        .iter()
        .map(|s| {
            let mut cfg = base.clone();
            cfg.name = Some(s.name.clone());
            cfg.plan = s.plan.clone();
            cfg.start_delay = s.start_time;
            cfg.tags.extend(s.tags.clone());
            cfg.env = merged_env(&file.env, &s.env, args)?;
            cfg.aborts = aborts_of(&base.aborts, &s.name);
            cfg.once_group = Some(group.clone());
            Ok(cfg)
        })
        .collect()
}

/// The scenario's own options (k6's `export const options`), when its component states
/// them; what Stampede does not take from them is said once.
pub(crate) fn script_options(
    cfg: &RunConfig,
    quiet: bool,
) -> Result<Option<crate::script_options::ScriptOptions>> {
    let bytes: std::sync::Arc<[u8]> = match &cfg.scenario_bytes {
        Some(b) => b.clone(),
        None => match std::fs::read(&cfg.scenario) {
            Ok(b) => b.into(),
            // Unreadable: the run says so, in its own words.
            Err(_) => return Ok(None),
        },
    };
    if !stampede::run::may_state_options(&bytes) {
        return Ok(None);
    }
    let mut cfg = cfg.clone();
    cfg.scenario_bytes = Some(bytes);
    let mut printer = crate::progress::Printer::new(quiet);
    // A first compile happens here: its notice, and how long it took.
    let mut show = |p: stampede::run::Progress| {
        if matches!(
            p,
            stampede::run::Progress::Notice(_) | stampede::run::Progress::Note(_)
        ) {
            printer.show(p)
        }
    };
    let Some(json) = stampede::run::script_options(&cfg, &mut show)? else {
        return Ok(None);
    };
    let o = crate::script_options::parse(&json)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cfg.scenario.display()))?;
    if !o.ignored.is_empty() {
        eprintln!(
            "stampede: warning: {}: options not applied by Stampede: {}",
            cfg.scenario.display(),
            o.ignored.join(", ")
        );
    }
    Ok(Some(o))
}

/// A scenario given as source (`.py`, `.js`, `.mjs`, `.ts`) becomes its component,
/// built now or taken from the cache; the path stays the source's, for reports.
pub(crate) fn build_source(cfg: &mut RunConfig) -> Result<()> {
    if crate::source::kind_of(&cfg.scenario).is_none() {
        return Ok(());
    }
    let cache = cfg
        .cache_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("stampede-build"));
    let built = crate::source::build(&cfg.scenario, &cache, &mut |line| {
        eprintln!("stampede: {line}")
    })?;
    cfg.scenario_bytes = Some(built.wasm.into());
    Ok(())
}

/// The baseline to compare with: flags over the file's `[baseline]`. A history
/// directory gives a gate with no runs yet (they depend on the run's fingerprint) and
/// how to use it.
pub fn baseline(
    args: &crate::BaselineArgs,
    file: Option<config::BaselineSection>,
) -> Result<(Option<BaselineGate>, Option<UseHistory>)> {
    let file = file.unwrap_or(config::BaselineSection {
        file: None,
        dir: None,
        label: None,
        keep: None,
        accept: false,
        rules: Vec::new(),
        min_samples: None,
    });
    // A flag of either kind replaces the file's baseline of either kind.
    let flagged = !args.baseline.is_empty() || args.baseline_dir.is_some();
    let (paths, dir) = if flagged {
        (args.baseline.clone(), args.baseline_dir.clone())
    } else {
        (file.file.into_iter().collect(), file.dir)
    };
    if !paths.is_empty() && dir.is_some() {
        bail!("[baseline]: give `file` or `dir`, not both");
    }
    let history = match dir {
        Some(dir) => {
            let label = args
                .baseline_label
                .as_deref()
                .or(file.label.as_deref())
                .unwrap_or(DEFAULT_LABEL);
            Some(UseHistory {
                store: History::new(dir, label)?,
                keep: args.baseline_keep.or(file.keep).unwrap_or(DEFAULT_KEEP),
                accept: args.baseline_accept || file.accept,
            })
        }
        None if args.baseline_accept => {
            bail!("--baseline-accept needs --baseline-dir (the history to add the run to)")
        }
        None => None,
    };
    if paths.is_empty() && history.is_none() {
        return Ok((None, None));
    }
    let rules = if !args.rules.is_empty() || file.rules.is_empty() {
        parse_rules("--baseline-rule", &args.rules)?
    } else {
        file.rules.into_iter().map(|r| r.0).collect()
    };
    let gate = BaselineGate {
        history: paths
            .iter()
            .map(|p| read_summary("--baseline", p))
            .collect::<Result<_>>()?,
        rules,
        min_samples: args
            .baseline_min_samples
            .or(file.min_samples)
            .unwrap_or(stampede::gate::baseline::DEFAULT_MIN_SAMPLES),
    };
    Ok((Some(gate), history))
}

/// Report files: flags over the file's `[outputs]`.
pub fn outputs(flags: &OutputArgs, file: config::OutputsSection) -> OutputArgs {
    OutputArgs {
        summary_json: flags.summary_json.clone().or(file.summary_json),
        junit: flags.junit.clone().or(file.junit),
        markdown: flags.markdown.clone().or(file.markdown),
        html: flags.html.clone().or(file.html),
        metrics_listen: flags.metrics_listen.clone().or(file.metrics_listen),
        out: if flags.out.is_empty() {
            file.out
        } else {
            flags.out.clone()
        },
        push_interval: flags.push_interval.or(file.push_interval.map(|d| d.0)),
    }
}

/// Splits every scenario for `--segment` / `--segments`, fingerprints the whole plan
/// and sets the `--start-at` time zero.
fn apply_segment(cfgs: &mut [RunConfig], args: &crate::SegmentArgs) -> Result<()> {
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
    let mut passed = None;
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
                // Already past: start at once rather than pretend, and say so (segments
                // that started apart do not measure one load together).
                Err(e) => {
                    passed = Some(e.duration());
                    instant
                }
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
        cfg.start_at_passed = passed;
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
    args: &RunArgs,
) -> Result<Vec<(String, String)>> {
    let mut env: BTreeMap<String, String> = file.clone();
    env.extend(scenario.clone());
    env.extend(parse_env(&args.env)?);
    // Locust's tag filters reach a Locust script as Locust's own variables.
    for (key, tags) in [
        ("LOCUST_TAGS", &args.tags),
        ("LOCUST_EXCLUDE_TAGS", &args.exclude_tags),
    ] {
        if !tags.is_empty() {
            env.insert(key.to_string(), tags.join(","));
        }
    }
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
        cfg.memory_cap_chosen = true;
    }
    if own.is_some_and(|l| l.max_total_memory.is_some()) {
        bail!(
            "max_total_memory in a scenario's limits: the memory budget is the whole run's; set it in the top-level [limits] or with --max-total-memory"
        );
    }
    cfg.max_total_memory = args
        .max_total_memory
        .or(file.limits.max_total_memory.map(|m| m.0));
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
    match args.max_cookies.or(pick(|l| l.max_cookies)) {
        Some(n) if n == 0 || n > 100_000 => {
            bail!("--max-cookies {n} (max_cookies): choose between 1 and 100000")
        }
        Some(n) => cfg.max_cookies = n as usize,
        None => {}
    }
    match args.max_cookie_jar_kib.or(pick(|l| l.max_cookie_jar_kib)) {
        Some(k) if !(4..=65_536).contains(&k) => bail!(
            "--max-cookie-jar-kib {k} (max_cookie_jar_kib): choose between 4 (one cookie) and 65536"
        ),
        Some(k) => cfg.max_cookie_bytes = (k as usize) << 10,
        None => {}
    }
    cfg.verbose = args.verbose;
    cfg.trace_context = match (args.trace_context.as_deref(), file.trace_context) {
        (Some(flag), _) => Some(flag == "sampled"),
        (None, Some(mode)) => Some(mode == config::TraceMode::Sampled),
        (None, None) => None,
    };
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
    stampede::client::policy::NetPolicy::new(cfg.target.as_ref(), &cfg.allow_hosts)
        .map_err(anyhow::Error::msg)?;
    cfg.resolve = file
        .resolve
        .iter()
        .chain(&args.resolve)
        .map(|r| stampede::client::FixedResolver::parse(r).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    Ok(())
}
