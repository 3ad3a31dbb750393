//! The command line: parsing and validation into a [`RunConfig`], and the commands.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::executor::{Load, Plan};
use crate::metrics::Summary;
use crate::run::{self, RunConfig};

/// Documented exit codes (see README).
pub mod exit {
    pub const PASSED: u8 = 0;
    /// Bad flags, an unreadable or invalid scenario, or any other configuration error.
    pub const CONFIG_ERROR: u8 = 2;
    /// The run was interrupted (Ctrl-C) before its end.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Parser, Debug)]
#[command(
    name = "stampede",
    version,
    about = "Load tests whose virtual users are WebAssembly components",
    long_about = "Load tests whose virtual users are WebAssembly components.\n\nExample:\n  stampede run checkout.wasm --target https://staging.example.com --vus 50 --duration 1m"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario component against a target.
    Run(RunArgs),
    /// Run the bundled smoke scenario against the built-in demo target, for a few seconds.
    Demo(DemoArgs),
    /// Serve the demo shop API (what `demo` runs against), e.g. for your own scenarios.
    DemoTarget(crate::demo::DemoTargetArgs),
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Virtual users running at once, e.g. `--vus 50`.
    #[arg(long, default_value_t = 1)]
    pub vus: u32,
    /// How long the load lasts, e.g. `30s`, `1m30s`, `500ms`.
    #[arg(long, value_parser = parse_duration, conflicts_with = "iterations")]
    pub duration: Option<Duration>,
    /// Total task runs shared by all VUs instead of a duration, e.g. `--iterations 1000`.
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Time running iterations get to finish after the load ends, e.g. `10s`.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub graceful_stop: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The scenario: a WebAssembly component built against the stampede WIT.
    pub scenario: PathBuf,
    /// Base URL that relative request paths resolve against, e.g. `https://staging.example.com`.
    #[arg(long)]
    pub target: Option<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// A value the scenario reads with `env(KEY)`, e.g. `--env EMAIL=qa@example.com` (repeatable).
    /// The host's own environment is never visible to scenarios.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Write the full summary (with lossless histograms) as JSON, e.g. `--summary-json out.json`.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Default timeout of one request, e.g. `30s`.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
    /// Accept any TLS certificate (staging servers with self-signed certificates).
    #[arg(long)]
    pub insecure: bool,
    /// Also trust the CA certificates in this PEM file, e.g. `--ca-cert staging-ca.pem` (repeatable).
    #[arg(long)]
    pub ca_cert: Vec<PathBuf>,
    /// Where compiled components are cached (default: $STAMPEDE_CACHE_DIR or ~/.cache/stampede).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Compile the scenario every time; read and write no cache.
    #[arg(long)]
    pub no_cache: bool,
    /// CPU budget of one task call, in fuel units (about one per wasm instruction).
    #[arg(long, default_value_t = run::DEFAULT_FUEL)]
    pub max_fuel: u64,
    /// Linear memory cap of one VU's instance, in MiB.
    #[arg(long, default_value_t = (run::DEFAULT_MEMORY_CAP >> 20) as u64)]
    pub max_memory_mib: u64,
    /// Print only the summary (no progress lines).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// How long the demo runs.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub duration: Duration,
    /// Virtual users.
    #[arg(long, default_value_t = 10)]
    pub vus: u32,
    /// Also write the JSON summary.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}); write it like 30s, 1m30s or 500ms"))?;
    Ok(d)
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

pub fn parse_target(t: &str) -> Result<Url> {
    let url = Url::parse(t).map_err(|e| {
        anyhow::anyhow!(
            "--target {t:?}: not an absolute URL ({e}); write it like https://staging.example.com"
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        bail!("--target {t:?}: must be an http:// or https:// URL with a host");
    }
    Ok(url)
}

impl LoadArgs {
    pub fn plan(&self) -> Result<Plan> {
        if self.vus == 0 {
            bail!("--vus 0: at least one virtual user is needed");
        }
        let load = match (self.duration, self.iterations) {
            (_, Some(0)) => bail!("--iterations 0: at least one iteration is needed"),
            (_, Some(n)) => Load::Iterations(n),
            (Some(d), None) if d.is_zero() => bail!("--duration 0s: the run needs some time"),
            (Some(d), None) => Load::Duration(d),
            (None, None) => Load::Iterations(1),
        };
        Ok(Plan {
            vus: self.vus,
            load,
            graceful_stop: self.graceful_stop,
        })
    }
}

impl RunArgs {
    pub fn config(&self) -> Result<RunConfig> {
        let mut cfg = RunConfig::new(self.scenario.clone(), self.load.plan()?);
        cfg.target = self.target.as_deref().map(parse_target).transpose()?;
        cfg.env = parse_env(&self.env)?;
        cfg.insecure = self.insecure;
        cfg.ca_certs = self.ca_cert.clone();
        if let Some(d) = &self.cache_dir {
            cfg.cache_dir = Some(d.clone());
        }
        if self.no_cache {
            cfg.cache_dir = None;
        }
        cfg.request_timeout = self.timeout;
        if self.max_fuel == 0 {
            bail!("--max-fuel 0: a task needs some fuel to run");
        }
        cfg.limits.fuel_per_call = self.max_fuel;
        if self.max_memory_mib == 0 || self.max_memory_mib > 4096 {
            bail!(
                "--max-memory-mib {}: choose between 1 and 4096",
                self.max_memory_mib
            );
        }
        cfg.limits.memory_cap = (self.max_memory_mib as usize) << 20;
        Ok(cfg)
    }
}

/// Runs a configured load, prints the summary, writes the JSON; returns the exit code.
pub async fn execute(cfg: RunConfig, summary_json: Option<&PathBuf>, quiet: bool) -> Result<u8> {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let summary = run::run(cfg, interrupt, |line| {
        if !quiet {
            eprintln!("stampede: {line}");
        }
    })
    .await?;
    finish(&summary, summary_json)
}

fn finish(summary: &Summary, summary_json: Option<&PathBuf>) -> Result<u8> {
    if let Some(path) = summary_json {
        std::fs::write(path, summary.to_json())
            .with_context(|| format!("--summary-json {}: cannot write", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    crate::report::console::write(&mut out, summary)?;
    out.flush()?;
    Ok(if summary.interrupted.is_some() {
        exit::INTERRUPTED
    } else {
        exit::PASSED
    })
}

/// `stampede demo`: the demo target in-process and the bundled smoke scenario.
pub async fn demo(args: DemoArgs) -> Result<u8> {
    let server = crate::demo::serve("127.0.0.1:0".parse().expect("addr"), Default::default())
        .await
        .context("starting the demo target")?;
    let target = format!("http://{}", server.addr);
    eprintln!("stampede: demo target listening on {target}");
    let plan = Plan {
        vus: args.vus.max(1),
        load: Load::Duration(args.duration),
        graceful_stop: Duration::from_secs(5),
    };
    let mut cfg = RunConfig::new(PathBuf::from("bundled:smoke.wasm"), plan);
    cfg.scenario_bytes = Some(Arc::from(crate::demo::SMOKE_WASM));
    cfg.target = Some(parse_target(&target)?);
    // The demo keeps its think time short so a few seconds show real traffic.
    cfg.env = vec![
        ("WAIT_MIN_MS".into(), "50".into()),
        ("WAIT_MAX_MS".into(), "200".into()),
    ];
    execute(cfg, args.summary_json.as_ref(), false).await
}
