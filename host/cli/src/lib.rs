//! The command line: parsing and validation into a [`RunConfig`], and the commands.

pub mod baseline;
pub mod config;
mod data;
pub mod history;
mod k6_summary;
pub mod k8s;
pub mod load;
pub mod merge;
mod progress;
mod reports;
pub mod resolve;
pub mod scaffold;
mod script_options;
mod script_scenarios;
mod script_values;
mod sdk;
pub mod source;
pub mod thresholds;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use url::Url;

use stampede::executor::{Load, Plan};
use stampede::gate::{Gate, Threshold};
use stampede::run::{self, RunConfig};

pub(crate) use reports::finish;

pub use baseline::{BaselineArgs, CompareArgs, parse_rules, read_summary};
pub use stampede::exit;

#[derive(Parser, Debug)]
#[command(
    name = "stampede",
    version = version(),
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
    Run(Box<RunArgs>),
    /// Run the bundled checkout scenario against the built-in demo target, for a few seconds.
    Demo(DemoArgs),
    /// Serve the demo shop API (what `demo` runs against), e.g. for your own scenarios.
    DemoTarget(stampede_demo::DemoTargetArgs),
    /// Compare a run's `--summary-json` with baseline runs by the baseline rules, without
    /// running load, e.g. `stampede compare main.json pr.json`.
    Compare(CompareArgs),
    /// Build a scenario's source (`.py`, `.js`, `.mjs`, `.ts`) into a component without
    /// running it, e.g. `stampede build checkout.py -o checkout.wasm`.
    Build(source::BuildArgs),
    /// Manage a `--baseline-dir` history: `add`, `list`, `prune`.
    Baseline(baseline::HistoryArgs),
    /// Merge the summaries of a run's segments (`--segment I/N`) into one, judged and
    /// reported like `run`.
    Merge(Box<merge::MergeArgs>),
    /// Print a Kubernetes Indexed Job that runs a config as N segments.
    K8s(k8s::K8sArgs),
    /// Create a scenario project in Rust, JavaScript, Go or Python that builds with one
    /// command and runs against `stampede demo-target`, e.g. `stampede new checkout-flow --lang go`.
    New(crate::scaffold::NewArgs),
    /// Print a shell completion script, e.g. `stampede completions bash >
    /// ~/.local/share/bash-completion/completions/stampede`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// `stampede --version`: the program's version and the scenario WIT it speaks (a
/// component built against another is refused).
fn version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        format!(
            "{} (WIT stampede:scenario@{})",
            env!("CARGO_PKG_VERSION"),
            stampede::vu::WIT_VERSION
        )
    })
}

#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Virtual users running at once, e.g. `--vus 50` (default 1; with --rate, the VUs
    /// set up in advance to take the iterations, default one per iteration per second).
    /// Locust's `-u`/`--users` work too.
    #[arg(long, short = 'u', visible_alias = "users")]
    pub vus: Option<u32>,
    /// Locust's spawn rate: ramp up to --vus at this many users a second, then hold them
    /// for the rest of --duration, e.g. `-u 100 -r 10 -t 5m`.
    #[arg(long = "spawn-rate", short = 'r', requires_all = ["vus", "duration"], conflicts_with_all = ["rate", "stages", "iterations", "iterations_per_vu"])]
    pub spawn_rate: Option<f64>,
    /// Open model: start this many iterations per second, e.g. `--rate 200 --duration 30s`,
    /// whether or not the target keeps up (iterations with no free VU are dropped and counted).
    #[arg(long, conflicts_with_all = ["iterations", "stages", "iterations_per_vu"])]
    pub rate: Option<f64>,
    /// How long the load lasts, e.g. `30s`, `1m30s`, `500ms` (Locust's `-t`/`--run-time`).
    #[arg(long, short = 't', visible_alias = "run-time", value_parser = parse_duration, conflicts_with_all = ["iterations", "stages", "iterations_per_vu"])]
    pub duration: Option<Duration>,
    /// Total task runs shared by all VUs instead of a duration, e.g. `--iterations 1000`.
    #[arg(long, conflicts_with_all = ["stages", "iterations_per_vu"])]
    pub iterations: Option<u64>,
    /// Task runs of each VU, e.g. `--vus 10 --iterations-per-vu 20` (k6 per-vu-iterations).
    #[arg(long, conflicts_with = "stages")]
    pub iterations_per_vu: Option<u64>,
    /// Ramping VUs: stages of DURATION:VUS, ramped linearly, e.g. `--stages 10s:50,1m:50,10s:0`.
    #[arg(long, value_parser = parse_stages, conflicts_with = "vus")]
    pub stages: Option<Stages>,
    /// With --rate: VUs the run may add when none is idle, e.g. `--max-vus 200` (default:
    /// the pre-allocated --vus; beyond them iterations are dropped).
    #[arg(long)]
    pub max_vus: Option<u32>,
    /// Time running iterations get to finish after the load ends (default 10s).
    #[arg(long, value_parser = parse_duration)]
    pub graceful_stop: Option<Duration>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// The scenario: a WebAssembly component built against the stampede WIT (default:
    /// `scenario` in the config file).
    pub scenario: Option<PathBuf>,
    /// The run as code, e.g. `--config load/stampede.toml`; its settings apply unless a
    /// flag overrides them. Default: `stampede.toml` beside the scenario, or in the
    /// current folder when no scenario is given.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Ignore any `stampede.toml` that is not named with --config.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Base URL that relative request paths resolve against, e.g. `https://staging.example.com`
    /// (Locust's `-H`/`--host`).
    #[arg(long, short = 'H', visible_alias = "host")]
    pub target: Option<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// A value the scenario reads with `env(KEY)`, e.g. `--env EMAIL=qa@example.com` (repeatable).
    /// The host's own environment is never visible to scenarios.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Locust's `-T`/`--tags`: run only the tasks tagged with one of these (`@tag`), e.g.
    /// `--tags checkout browse` (Locust scripts).
    #[arg(long, short = 'T', num_args = 1.., value_name = "TAG")]
    pub tags: Vec<String>,
    /// Locust's `-E`/`--exclude-tags`: leave out the tasks tagged with one of these.
    #[arg(long, short = 'E', num_args = 1.., value_name = "TAG")]
    pub exclude_tags: Vec<String>,
    /// A pass/fail criterion in k6's form, e.g. `--threshold 'http_req_duration{name:POST /api/v1/auth/login}: p(95)<300ms'`
    /// or `--threshold 'http_req_failed: rate<0.01'` (repeatable; replaces the config
    /// file's thresholds on the same metric and tag). A failed threshold exits with 99.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// Default timeout of one request, e.g. `30s` (default 60s).
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Accept any TLS certificate (staging servers with self-signed certificates).
    #[arg(long)]
    pub insecure: bool,
    /// Add a W3C `traceparent` header to every request (a trace id per iteration, a
    /// span id per request), with its sampled flag set (`sampled`, the default) or not
    /// (`unsampled`); the slowest requests' trace ids are kept in the reports.
    #[arg(long, value_name = "sampled|unsampled", num_args = 0..=1, default_missing_value = "sampled", value_parser = ["sampled", "unsampled"])]
    pub trace_context: Option<String>,
    /// Test data: a directory every VU reads read-only as its filesystem
    /// (`open("users.csv")`), whose CSV and JSON files feeders hand out a row at a
    /// time, parsed once per run. Symbolic links and files over --max-data-file-mib
    /// are refused.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Largest file the data directory may hold, in MiB (default 256).
    #[arg(long, value_name = "MIB")]
    pub max_data_file_mib: Option<u64>,
    /// Also trust the CA certificates in this PEM file, e.g. `--ca-cert staging-ca.pem` (repeatable).
    #[arg(long)]
    pub ca_cert: Vec<PathBuf>,
    /// Where compiled components are cached (default: $STAMPEDE_CACHE_DIR or ~/.cache/stampede).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Compile the scenario every time; read and write no cache.
    #[arg(long)]
    pub no_cache: bool,
    /// CPU budget of one task call, in fuel units (about one per wasm instruction;
    /// default 2000000000; 0 meters none, leaving --max-task-time as the only bound).
    #[arg(long)]
    pub max_fuel: Option<u64>,
    /// Linear memory cap of one VU's instance, in MiB (default 64).
    #[arg(long)]
    pub max_memory_mib: Option<u64>,
    /// Wall-clock limit of one task call, e.g. `30s` (default 10m): past it the
    /// iteration fails and the VU starts over as a new instance.
    #[arg(long, value_parser = parse_duration)]
    pub max_task_time: Option<Duration>,
    /// Largest response body buffered for a scenario that reads bodies, and largest
    /// request body, in MiB (default 64); a larger response fails with too_large...
    #[arg(long)]
    pub max_body_mib: Option<u64>,
    /// ...unless this is set: then its first part is kept.
    #[arg(long)]
    pub truncate_bodies: bool,
    /// Cookies one VU's jar keeps (default 3000; besides at most 50 per domain and
    /// 4096 bytes each): past it, the oldest goes.
    #[arg(long)]
    pub max_cookies: Option<u64>,
    /// KiB of cookies one VU's jar keeps (default 1024): past it, the oldest go.
    #[arg(long)]
    pub max_cookie_jar_kib: Option<u64>,
    /// The whole run's memory budget, e.g. `8GiB` (default 80% of the machine's or the
    /// cgroup's memory): a plan whose VUs could need more is refused (default memory
    /// caps shrink to fit), and a run nearing it stops with every report written.
    #[arg(long, value_parser = stampede::parse::parse_size)]
    pub max_total_memory: Option<u64>,
    /// A host the scenario may reach besides the target (repeatable): `api.example.com`
    /// (any port), `api.example.com:8443`, `*.example.com` (subdomains), or an address,
    /// which also allows a name resolving to that internal address. Nothing else is
    /// reachable.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Resolve HOST:PORT to ADDRESS instead of asking DNS, as curl's --resolve, e.g.
    /// `--resolve api.test:443:10.0.0.5` (repeatable; the allowlist still applies).
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDRESS")]
    pub resolve: Vec<String>,
    /// Print only the summary (no progress lines).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print every line the scenario logs (by default 20 a second, the rest counted),
    /// for debugging a small run.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub segments: SegmentArgs,
}

/// Running one share of a run split over several processes or machines.
#[derive(Args, Debug, Clone, Default)]
pub struct SegmentArgs {
    /// Run segment I of N (I from 1 to N): its share of every scenario's VUs, iterations
    /// and arrivals, e.g. `--segment 2/3`; merge the summaries with `stampede merge`.
    #[arg(long, conflicts_with = "segments")]
    pub segment: Option<String>,
    /// Split into N segments and take the one `$JOB_COMPLETION_INDEX` (0-based, as a
    /// Kubernetes Indexed Job sets it) names.
    #[arg(long)]
    pub segments: Option<u32>,
    /// Start the load at this time (RFC 3339, e.g. `2026-11-24T10:00:00Z`), after the
    /// scenario is loaded, so segments on several machines begin together.
    #[arg(long)]
    pub start_at: Option<String>,
}

/// Where the results go, besides the console.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Write the full summary (with lossless histograms) as JSON, e.g. `--summary-json out.json`
    /// (`-`: to stdout between marker lines, for `stampede merge` to find in a log).
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Write the thresholds as JUnit XML test cases, e.g. `--junit stampede.xml`.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary, e.g. `--markdown summary.md` (also appended to
    /// $GITHUB_STEP_SUMMARY when that is set).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report with charts, e.g. `--html report.html`.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Serve the figures so far for Prometheus to scrape at http://ADDR/metrics during
    /// the run, e.g. `--metrics-listen 127.0.0.1:9464` (`0.0.0.0:9464` in a pod). At the
    /// end the run waits (two scrape intervals at most) for the final figures to be
    /// scraped.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Push the figures so far every `--push-interval` and once at the end (repeatable):
    /// `prometheus-rw=URL` (Prometheus remote write, e.g.
    /// `http://prometheus:9090/api/v1/write`) or `otlp=URL` (OpenTelemetry metrics over
    /// HTTP/protobuf, e.g. `http://collector:4318`).
    #[arg(long = "out", value_name = "KIND=URL")]
    pub out: Vec<String>,
    /// How often `--out` pushes.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub push_interval: Option<Duration>,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// How long the demo runs.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub duration: Duration,
    /// Virtual users.
    #[arg(long, default_value_t = 10)]
    pub vus: u32,
    /// A threshold to judge the demo by (repeatable), e.g. `--threshold 'http_req_duration: p(95)<50ms'`;
    /// without one the demo applies p(95)<200ms, an error rate below 1% and 99% of checks.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// `--stages`, parsed (a newtype, so clap takes the list as one value).
#[derive(Debug, Clone, PartialEq)]
pub struct Stages(pub Vec<stampede::executor::Stage>);

fn parse_stages(s: &str) -> Result<Stages, String> {
    stampede::executor::ramping_vus::parse_stages(s).map(Stages)
}

pub use stampede::parse::{parse_duration, parse_target_url};

pub fn parse_target(t: &str) -> Result<Url> {
    parse_target_url(t).map_err(|e| anyhow::anyhow!("--target {t:?}: {e}"))
}

/// Parses every `--threshold`; the first bad one is the error.
pub fn parse_thresholds(exprs: &[String]) -> Result<Vec<Threshold>> {
    let mut out = Vec::new();
    for e in exprs {
        out.extend(stampede::gate::parse(e).map_err(|m| anyhow::anyhow!("--threshold: {m}"))?);
    }
    Ok(out)
}

/// The checkout scenario, built from `plugins/checkout` by the build script, for
/// `stampede demo`.
pub static CHECKOUT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/checkout.wasm"));

/// Runs a configured load, judges it, prints and writes the reports; returns the exit
/// code.
pub async fn execute(job: resolve::Job) -> Result<u8> {
    let mut printer = progress::Printer::new(job.quiet);
    if let Some(p) = &job.config_file {
        printer.show(run::Progress::Note(format!("config {}", p.display())));
    }
    let mut cfgs = job.cfgs;
    let o = &job.outputs;
    let sinks = o
        .out
        .iter()
        .map(|spec| stampede::live::Sink::parse(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let board = (o.metrics_listen.is_some() || !sinks.is_empty()).then(stampede::live::Board::new);
    let metrics = match (&o.metrics_listen, &board) {
        (Some(addr), Some(board)) => {
            let server = stampede::live::MetricsServer::start(addr, board.clone())
                .map_err(anyhow::Error::msg)?;
            printer.show(run::Progress::Note(format!(
                "metrics at http://{}/metrics",
                server.local_addr()
            )));
            Some(server)
        }
        _ => None,
    };
    let pusher = match &board {
        Some(board) if !sinks.is_empty() => {
            let every = o.push_interval.unwrap_or(DEFAULT_PUSH_INTERVAL);
            anyhow::ensure!(
                every >= Duration::from_millis(100),
                "--push-interval {}: at least 100ms",
                humantime::format_duration(every)
            );
            Some(
                stampede::live::Pusher::start(sinks, board.clone(), every)
                    .map_err(anyhow::Error::msg)?,
            )
        }
        _ => None,
    };
    for c in &mut cfgs {
        c.live = board.clone();
    }
    // A k6 script's handleSummary is asked after the reports (its scenarios share it).
    let script = cfgs.first().cloned();
    let summary = run::run_all(cfgs, run::StopSignals::ctrl_c(), |p| printer.show(p)).await;
    printer.done();
    let mut summary = summary?;
    // The last push before the reports, so a push that failed is in them.
    if let Some(p) = pusher {
        summary.warnings.extend(p.finish());
    }
    let code = finish(
        summary,
        job.gate,
        &job.outputs,
        job.history.as_ref(),
        script.as_ref(),
    );
    if let Some(server) = metrics {
        linger(server);
    }
    code
}

/// How often `--out` pushes by default (k6's remote-write output pushes every 5 s).
const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Serves the final figures until they are scraped (when something scrapes), so a
/// dashboard's last point is the run's end, not a second before it.
fn linger(server: stampede::live::MetricsServer) {
    use stampede::live::serve::Linger;
    if let Some(limit) = server.linger_limit() {
        eprintln!(
            "stampede: metrics: serving the final figures until scraped (at most {:.0}s)",
            limit.as_secs_f64()
        );
    }
    if let Linger::TimedOut(limit) = server.finish() {
        eprintln!(
            "stampede: metrics: the final figures were not scraped within {:.0}s",
            limit.as_secs_f64()
        );
    }
}

/// `stampede demo`: the demo target in-process and the bundled checkout scenario.
pub async fn demo(args: DemoArgs) -> Result<u8> {
    let server = stampede_demo::serve("127.0.0.1:0".parse().expect("addr"), Default::default())
        .await
        .context("starting the demo target")?;
    let target = format!("http://{}", server.addr);
    eprintln!("stampede: demo target listening on {target}");
    let mut plan = Plan::new(args.vus.max(1), Load::duration(args.duration));
    plan.graceful_stop = Duration::from_secs(5);
    let mut cfg = RunConfig::new(PathBuf::from("bundled:checkout.wasm"), plan);
    cfg.scenario_bytes = Some(Arc::from(CHECKOUT_WASM));
    cfg.target = Some(parse_target(&target)?);
    // The demo keeps its think time short so a few seconds show real traffic.
    cfg.env = vec![
        ("WAIT_MIN_MS".into(), "50".into()),
        ("WAIT_MAX_MS".into(), "200".into()),
    ];
    // Without thresholds of its own, the demo shows a gate too.
    let exprs: Vec<String> = if args.thresholds.is_empty() {
        DEMO_THRESHOLDS.iter().map(|t| t.to_string()).collect()
    } else {
        args.thresholds.clone()
    };
    execute(resolve::Job {
        cfgs: vec![cfg],
        gate: Gate {
            thresholds: parse_thresholds(&exprs)?,
            ..Gate::default()
        },
        outputs: args.outputs,
        quiet: false,
        history: None,
        config_file: None,
    })
    .await
}

/// The gate `stampede demo` applies unless given `--threshold`s.
pub const DEMO_THRESHOLDS: &[&str] = &[
    "http_req_duration: p(95)<200ms",
    "http_req_failed: rate<0.01",
    "checks: rate>0.99",
];

/// The whole command line program; `main.rs` only calls this (so the test suite can
/// build the same program as a binary of its own).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stampede: cannot start the async runtime: {e}");
            return ExitCode::from(exit::CONFIG_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => execute(resolve::resolve(&args)?).await,
            Command::Demo(args) => demo(args).await,
            Command::DemoTarget(args) => {
                stampede_demo::run_target(args).await.map(|()| exit::PASSED)
            }
            Command::New(args) => crate::scaffold::run(args),
            Command::Compare(args) => baseline::compare(&args),
            Command::Baseline(args) => baseline::history(&args),
            Command::Build(args) => source::build_command(&args),
            Command::Merge(args) => merge::run(&args),
            Command::K8s(args) => k8s::run(&args),
            Command::Completions { shell } => {
                use clap::CommandFactory;
                clap_complete::generate(
                    shell,
                    &mut Cli::command(),
                    "stampede",
                    &mut std::io::stdout(),
                );
                Ok(exit::PASSED)
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line: the error and its causes, joined.
            eprintln!("stampede: error: {e:#}");
            ExitCode::from(exit::CONFIG_ERROR)
        }
    }
}
