//! `stampede.toml`: a run and its gate as code, versioned with the application.
//!
//! This module only reads and validates the file; the command line merges it with its
//! own flags (which win). Values are checked while they are deserialized, so every bad
//! value is reported with the file, line and key it came from.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer};

use stampede::executor::{RateStage, Stage};
use stampede::gate::Threshold;
use stampede::gate::baseline::Rule;

/// The file name looked for when no `--config` is given.
pub const DEFAULT_NAME: &str = "stampede.toml";

/// A parsed config file; relative paths in it are already resolved against its folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The scenario component.
    pub scenario: Option<PathBuf>,
    /// Base URL for relative request paths.
    pub target: Option<Target>,
    #[serde(default)]
    pub load: LoadSection,
    /// Values the scenario reads with `env(KEY)`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: LimitsSection,
    #[serde(default)]
    pub tls: TlsSection,
    /// `METRIC[{TAG:VALUE}] = ["EXPR", ...]`, k6's form; parsed after the rest so a
    /// bad expression is reported at its own line.
    #[serde(default, rename = "thresholds")]
    raw_thresholds: BTreeMap<String, Vec<toml::Spanned<Entry>>>,
    #[serde(skip)]
    pub thresholds: Vec<ThresholdSpec>,
    pub baseline: Option<BaselineSection>,
    #[serde(default)]
    pub outputs: OutputsSection,
    /// Hosts reachable besides the target (as `--allow-host`).
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// With no threshold set, pass a run even if requests or iterations failed (as
    /// `--allow-failures`).
    #[serde(default)]
    pub allow_failures: bool,
    /// Fixed resolutions, `HOST:PORT:ADDRESS` (as `--resolve`).
    #[serde(default)]
    pub resolve: Vec<String>,
    /// `"sampled"` or `"unsampled"`: a W3C `traceparent` on every request (as
    /// `--trace-context`).
    pub trace_context: Option<TraceMode>,
    /// Test data: a directory every instance reads (read-only) and feeders take rows
    /// from (as `--data`).
    pub data: Option<PathBuf>,
    /// Several scenarios in one run, by name (instead of `scenario`).
    #[serde(default)]
    pub scenarios: BTreeMap<String, ScenarioSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceMode {
    Sampled,
    Unsampled,
}

/// One scenario of a run of several.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSection {
    pub scenario: PathBuf,
    pub target: Option<Target>,
    /// Its own load; without one it takes a `weight`ed share of the top-level `[load]`.
    pub load: Option<LoadSection>,
    pub weight: Option<NonZeroU32>,
    /// When its load starts, from the start of the run.
    pub start_time: Option<Dur>,
    /// Added to (and over) the top-level `[env]`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Its own limits, over the top-level `[limits]`.
    pub limits: Option<LimitsSection>,
    /// Hosts this scenario may reach besides the target and the top-level ones.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// Its own test data directory, instead of the top-level `data`.
    pub data: Option<PathBuf>,
}

/// The load, as on the command line (`--vus`, `--duration`, `--stages`, ...).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSection {
    pub vus: Option<NonZeroU32>,
    pub duration: Option<Dur>,
    pub iterations: Option<NonZeroU64Field>,
    pub iterations_per_vu: Option<NonZeroU64Field>,
    pub rate: Option<Rate>,
    pub stages: Option<Vec<StageSpec>>,
    /// Ramping arrival rate: the rate at the start, then linear stages.
    pub start_rate: Option<f64>,
    pub rate_stages: Option<Vec<RateStageSpec>>,
    /// Open model: VUs that may be added when none is idle.
    pub max_vus: Option<NonZeroU32>,
    pub graceful_stop: Option<Dur>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Fuel per task call (0: not metered).
    pub max_fuel: Option<u64>,
    pub max_memory_mib: Option<MemoryMib>,
    /// Default timeout of one request.
    pub timeout: Option<Dur>,
    /// Wall-clock limit of one task call.
    pub max_task_time: Option<Dur>,
    /// Largest body buffered or sent, in MiB.
    pub max_body_mib: Option<MemoryMib>,
    /// Keep the first part of a larger response body instead of failing.
    pub truncate_bodies: Option<bool>,
    /// Cookies, and KiB of them, one VU's jar keeps.
    pub max_cookies: Option<u64>,
    pub max_cookie_jar_kib: Option<u64>,
    /// The whole run's memory budget (top level only).
    pub max_total_memory: Option<Size>,
    /// Largest file in the data directory, in MiB (top level only).
    pub max_data_file_mib: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub ca_certs: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineSection {
    pub file: Option<PathBuf>,
    /// A history directory (`--baseline-dir`), relative to the config file.
    pub dir: Option<PathBuf>,
    pub label: Option<String>,
    pub keep: Option<usize>,
    #[serde(default)]
    pub accept: bool,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    pub min_samples: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsSection {
    pub summary_json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// `--metrics-listen`: where Prometheus scrapes the run's figures.
    pub metrics_listen: Option<String>,
    /// `--out`: where the figures are pushed (`prometheus-rw=URL`, `otlp=URL`).
    #[serde(default)]
    pub out: Vec<String>,
    pub push_interval: Option<Dur>,
}

/// A duration written like `30s`, `1m30s` or `500ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        stampede::parse::parse_duration(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonZeroU64Field(pub u64);

impl<'de> Deserialize<'de> for NonZeroU64Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            0 => Err(serde::de::Error::custom("must be at least 1")),
            n => Ok(NonZeroU64Field(n)),
        }
    }
}

/// Iterations per second (open model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v > 0.0 && v.is_finite() {
            Ok(Rate(v))
        } else {
            Err(serde::de::Error::custom(
                "iterations per second must be above 0",
            ))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryMib(pub u64);

impl<'de> Deserialize<'de> for MemoryMib {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        if (1..=4096).contains(&v) {
            Ok(MemoryMib(v))
        } else {
            Err(serde::de::Error::custom("choose between 1 and 4096"))
        }
    }
}

/// A memory size, `8GiB`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        stampede::parse::parse_size(&s)
            .map(Size)
            .map_err(serde::de::Error::custom)
    }
}

/// An absolute http(s) URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Target(pub url::Url);

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        stampede::parse::parse_target_url(&s)
            .map(Target)
            .map_err(serde::de::Error::custom)
    }
}

/// One stage of a ramping-VUs load: ramp linearly to `target` VUs over `duration`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub duration: Dur,
    pub target: u32,
}

impl From<&StageSpec> for Stage {
    fn from(s: &StageSpec) -> Stage {
        Stage {
            duration: s.duration.0,
            target: s.target,
        }
    }
}

/// One stage of a ramping arrival rate: ramp linearly to `target` iterations per
/// second over `duration`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStageSpec {
    pub duration: Dur,
    pub target: f64,
}

impl From<&RateStageSpec> for RateStage {
    fn from(s: &RateStageSpec) -> RateStage {
        RateStage {
            duration: s.duration.0,
            target: s.target,
        }
    }
}

/// A parsed baseline rule.
#[derive(Debug, Clone)]
pub struct RuleSpec(pub Rule);

impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        stampede::gate::baseline::parse_rule(&s)
            .map(RuleSpec)
            .map_err(serde::de::Error::custom)
    }
}

/// One threshold entry with its options.
#[derive(Debug, Clone)]
pub struct ThresholdSpec {
    /// The metric and tag filter, e.g. `http_req_duration{name:GET /}`: the key a
    /// command-line `--threshold` on the same metric replaces.
    pub selector: String,
    pub parsed: Vec<Threshold>,
    pub abort: Option<AbortOnFail>,
}

/// k6's `abortOnFail`: stop the run as soon as the threshold is lost, but not before
/// `delay` into the run (early figures are noisy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbortOnFail {
    pub delay: Duration,
}

/// An entry is a plain expression or a table with options.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Entry {
    Plain(String),
    Full(FullEntry),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FullEntry {
    threshold: String,
    #[serde(default)]
    abort_on_fail: bool,
    delay_abort_eval: Option<Dur>,
}

/// Parses the threshold entries; the error carries the entry's byte offset.
fn thresholds(
    raw: &BTreeMap<String, Vec<toml::Spanned<Entry>>>,
) -> Result<Vec<ThresholdSpec>, (usize, String)> {
    let mut out = Vec::new();
    for (selector, entries) in raw {
        for entry in entries {
            let at = entry.span().start;
            let (expr, abort) = match entry.get_ref() {
                Entry::Plain(e) => (e.clone(), None),
                Entry::Full(f) => {
                    if f.delay_abort_eval.is_some() && !f.abort_on_fail {
                        return Err((at, "delay_abort_eval needs abort_on_fail = true".into()));
                    }
                    let abort = f.abort_on_fail.then(|| AbortOnFail {
                        delay: f.delay_abort_eval.map(|d| d.0).unwrap_or_default(),
                    });
                    (f.threshold.clone(), abort)
                }
            };
            let parsed =
                stampede::gate::parse(&format!("{selector}: {expr}")).map_err(|e| (at, e))?;
            out.push(ThresholdSpec {
                selector: selector.clone(),
                parsed,
                abort,
            });
        }
    }
    Ok(out)
}

/// A loaded config file.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub config: FileConfig,
}

/// Reads and validates `path`; errors name the file, line and key.
pub fn load(path: &Path) -> Result<Loaded> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--config {}: cannot read", path.display()))?;
    let mut config = parse(&text).map_err(|e| anyhow::anyhow!("{}{e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    config.resolve_paths(dir);
    Ok(Loaded {
        path: path.to_path_buf(),
        config,
    })
}

/// Parses config text; the error starts with `:LINE:` so the caller prefixes the file.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    let at = |offset: usize, message: &str| {
        let (line, key) = locate(text, offset);
        let message = message.trim().replace('\n', "; ");
        match key {
            Some(key) => format!(":{line}: {key}: {message}"),
            None => format!(":{line}: {message}"),
        }
    };
    let mut config: FileConfig = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => at(span.start, e.message()),
        None => format!(": {}", e.message()),
    })?;
    config.thresholds = thresholds(&config.raw_thresholds).map_err(|(o, m)| at(o, &m))?;
    Ok(config)
}

/// The 1-based line of `offset` and the dotted key written there (with its table),
/// so a message reads `stampede.toml:7: load.vus: ...`.
fn locate(text: &str, offset: usize) -> (usize, Option<String>) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = text[line_start..].lines().next().unwrap_or("");
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let full = match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(format!("[{t}]")),
        (None, None) => None,
    };
    (line_no, full)
}

impl FileConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        if let Some(p) = &mut self.scenario {
            fix(p);
        }
        for s in self.scenarios.values_mut() {
            fix(&mut s.scenario);
            s.data.iter_mut().for_each(fix);
        }
        self.data.iter_mut().for_each(fix);
        self.tls.ca_certs.iter_mut().for_each(fix);
        if let Some(b) = self.baseline.as_mut() {
            b.file.iter_mut().chain(b.dir.iter_mut()).for_each(fix);
        }
        let o = &mut self.outputs;
        for p in [
            &mut o.summary_json,
            &mut o.junit,
            &mut o.markdown,
            &mut o.html,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let c = parse(
            r#"
scenario = "checkout.wasm"
target = "http://127.0.0.1:8080"

[load]
stages = [{ duration = "10s", target = 50 }, { duration = "1m", target = 50 }]
graceful_stop = "5s"

[env]
EMAIL = "qa@example.com"

[limits]
max_fuel = 1000
max_memory_mib = 32
timeout = "5s"

[thresholds]
http_req_duration = ["p(95)<500ms"]
"http_req_duration{name:POST /api/v1/auth/login}" = ["p(95)<300"]
http_req_failed = [{ threshold = "rate<0.01", abort_on_fail = true, delay_abort_eval = "10s" }]

[baseline]
file = "main.json"
rules = ["fail: p(95) +20%"]

[outputs]
junit = "out/junit.xml"
"#,
        )
        .unwrap();
        assert_eq!(c.scenario.unwrap(), PathBuf::from("checkout.wasm"));
        let stages = c.load.stages.unwrap();
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].duration.0, Duration::from_secs(10));
        assert_eq!(c.env["EMAIL"], "qa@example.com");
        assert_eq!(c.limits.max_memory_mib, Some(MemoryMib(32)));
        assert_eq!(c.thresholds.len(), 3);
        let login = c
            .thresholds
            .iter()
            .find(|t| t.selector.contains("login"))
            .unwrap();
        assert_eq!(
            login.parsed[0].tag,
            Some(("name".into(), "POST /api/v1/auth/login".into()))
        );
        let failed = c
            .thresholds
            .iter()
            .find(|t| t.selector == "http_req_failed")
            .unwrap();
        assert_eq!(
            failed.abort,
            Some(AbortOnFail {
                delay: Duration::from_secs(10)
            })
        );
        assert_eq!(c.baseline.unwrap().rules.len(), 1);
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err()
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let e = err("target = \"http://127.0.0.1\"\n[load]\nvus = 0\n");
        assert!(e.starts_with(":3: load.vus: "), "{e}");
        assert!(e.contains("nonzero"), "{e}");

        let e = err("[load]\nvus = 2\nduraton = \"1s\"\n");
        assert!(
            e.starts_with(":3: load.duraton: unknown field `duraton`"),
            "{e}"
        );
        assert!(e.contains("`duration`"), "{e}");

        let e = err("[load]\nduration = \"3x\"\n");
        assert!(e.starts_with(":2: load.duration: "), "{e}");
        assert!(e.contains("is not a duration"), "{e}");

        let e = err("target = \"staging.example.com\"\n");
        assert!(e.starts_with(":1: target: "), "{e}");
        assert!(e.contains("not an absolute URL"), "{e}");

        let e = err("[thresholds]\nhttp_req_duration = [\"p(95)<500\", \"p(95)<<5\"]\n");
        assert!(e.starts_with(":2: thresholds.http_req_duration: "), "{e}");
        assert!(e.contains("http_req_duration: p(95)<<5"), "{e}");

        let e = err(
            "[thresholds]\nchecks = [{ threshold = \"rate>0.9\", delay_abort_eval = \"1s\" }]\n",
        );
        assert!(
            e.contains(":2: thresholds.checks: delay_abort_eval needs abort_on_fail"),
            "{e}"
        );

        let e = err("[baseline]\nrules = [\"fail: p(95) 20%\"]\n");
        assert!(e.starts_with(":2: baseline.rules: "), "{e}");

        let e = err("[limits]\nmax_memory_mib = 0\n");
        assert!(e.contains("between 1 and 4096"), "{e}");

        let e = err("[load]\nstages = [{ duration = \"1s\" }]\n");
        assert!(e.contains("target"), "{e}");

        let e = err("scenario = \n");
        assert!(e.starts_with(":1:"), "{e}");
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let mut c = parse(
            "scenario = \"s.wasm\"\n[tls]\nca_certs = [\"/abs/ca.pem\"]\n[outputs]\nhtml = \"r.html\"\n",
        )
        .unwrap();
        c.resolve_paths(Path::new("/proj/load"));
        assert_eq!(c.scenario.unwrap(), PathBuf::from("/proj/load/s.wasm"));
        assert_eq!(c.tls.ca_certs[0], PathBuf::from("/abs/ca.pem"));
        assert_eq!(c.outputs.html.unwrap(), PathBuf::from("/proj/load/r.html"));
    }
}
