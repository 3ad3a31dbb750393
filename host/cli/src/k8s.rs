//! `stampede k8s`: a Kubernetes Indexed Job whose N pods each run one segment of a
//! config; their logs carry the segment summaries to `stampede merge`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use crate::{RunArgs, resolve};

#[derive(Args, Debug, Clone)]
pub struct K8sArgs {
    /// The Job's name (a DNS label: lowercase letters, digits and '-').
    pub name: String,
    /// The run's config, read here to size the pods.
    #[arg(long)]
    pub config: PathBuf,
    /// Pods (segments) running at once: the run is split N ways.
    #[arg(long)]
    pub parallelism: u32,
    /// An image with `stampede` on its PATH, e.g. `registry.example.com/stampede:0.1`.
    #[arg(long)]
    pub image: String,
    /// Where the config is inside the pod (the image, or the ConfigMap below); the
    /// scenario paths in it are relative to it.
    #[arg(long, default_value = "/load/stampede.toml")]
    pub config_path: String,
    /// Mount this ConfigMap (holding the config and the scenario components) at the
    /// config path's folder, instead of baking them into the image.
    #[arg(long)]
    pub config_map: Option<String>,
    /// Start every pod's load at this time (RFC 3339)...
    #[arg(long, conflicts_with = "start_in")]
    pub start_at: Option<String>,
    /// ...or this long after the manifest is printed, e.g. `2m` (time for the pods to
    /// be scheduled and load the scenario).
    #[arg(long, value_parser = crate::parse_duration)]
    pub start_in: Option<Duration>,
}

/// A YAML double-quoted scalar (JSON's string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// Pod resources from the plan: per 250 VUs one CPU core (at least half of one);
/// memory 128 MiB plus 256 KiB per VU requested (idle VUs measure about 75 KiB), twice
/// that as the limit.
fn resources(vus_per_pod: u64) -> (String, u64, u64) {
    let millicores = (vus_per_pod * 1000 / 250).max(500);
    let request_mib = 128 + vus_per_pod.div_ceil(4);
    (format!("{millicores}m"), request_mib, request_mib * 2)
}

pub fn manifest(args: &K8sArgs) -> Result<String> {
    let valid_name = !args.name.is_empty()
        && args.name.len() <= 52
        && args
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !args.name.starts_with('-')
        && !args.name.ends_with('-');
    if !valid_name {
        bail!(
            "k8s name {:?}: use lowercase letters, digits and '-' (at most 52), e.g. checkout-load",
            args.name
        );
    }
    if args.parallelism == 0 {
        bail!("--parallelism 0: at least one pod is needed");
    }
    // Size the pods from the largest segment of the run the config describes.
    let run = RunArgs::parse_config_only(&args.config);
    let job = resolve::resolve(&run)?;
    let n = args.parallelism as u64;
    let vus: u64 = job
        .cfgs
        .iter()
        .map(|c| (c.plan.max_vus as u64).div_ceil(n))
        .sum();
    let (cpu, req_mib, limit_mib) = resources(vus);
    let start_at = match (&args.start_at, args.start_in) {
        (Some(t), _) => {
            humantime::parse_rfc3339_weak(t).map_err(|e| {
                anyhow::anyhow!("--start-at {t:?}: {e}; write it like 2026-11-24T10:00:00Z")
            })?;
            Some(t.clone())
        }
        (None, Some(d)) => {
            Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now() + d).to_string())
        }
        (None, None) => None,
    };
    let mut cmd = vec![
        "run".to_string(),
        "--config".into(),
        args.config_path.clone(),
        "--segments".into(),
        args.parallelism.to_string(),
        "--summary-json".into(),
        "-".into(),
        "--quiet".into(),
    ];
    if let Some(t) = &start_at {
        cmd.extend(["--start-at".into(), t.clone()]);
    }
    let mount_dir = std::path::Path::new(&args.config_path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/load".into());
    let mut y = String::new();
    let labels = |y: &mut String, indent: &str| {
        let _ = writeln!(y, "{indent}labels:");
        let _ = writeln!(y, "{indent}  app.kubernetes.io/name: stampede");
        let _ = writeln!(y, "{indent}  stampede.dev/run: {}", q(&args.name));
    };
    let _ = writeln!(
        y,
        "# stampede k8s: {n} segments of {}; see the README (\"Beyond one machine\").",
        args.config.display()
    );
    y.push_str("apiVersion: batch/v1\nkind: Job\nmetadata:\n");
    let _ = writeln!(y, "  name: {}", q(&args.name));
    labels(&mut y, "  ");
    y.push_str("spec:\n  completionMode: Indexed\n");
    let _ = writeln!(y, "  completions: {n}\n  parallelism: {n}");
    // A failed pod is a failed segment: rerunning it would double its load.
    y.push_str("  backoffLimit: 0\n  template:\n    metadata:\n");
    labels(&mut y, "      ");
    y.push_str("    spec:\n      restartPolicy: Never\n      containers:\n");
    y.push_str("        - name: stampede\n");
    let _ = writeln!(y, "          image: {}", q(&args.image));
    y.push_str("          command: [\"stampede\"]\n          args:\n");
    for a in &cmd {
        let _ = writeln!(y, "            - {}", q(a));
    }
    y.push_str("          resources:\n            requests:\n");
    let _ = writeln!(y, "              cpu: {}", q(&cpu));
    let _ = writeln!(y, "              memory: {}", q(&format!("{req_mib}Mi")));
    y.push_str("            limits:\n");
    let _ = writeln!(y, "              memory: {}", q(&format!("{limit_mib}Mi")));
    if let Some(cm) = &args.config_map {
        y.push_str("          volumeMounts:\n            - name: load\n");
        let _ = writeln!(y, "              mountPath: {}", q(&mount_dir));
        y.push_str("      volumes:\n        - name: load\n          configMap:\n");
        let _ = writeln!(y, "            name: {}", q(cm));
    }
    Ok(y)
}

pub fn run(args: &K8sArgs) -> Result<u8> {
    print!("{}", manifest(args)?);
    Ok(crate::exit::PASSED)
}

impl RunArgs {
    /// `stampede run --config PATH` with no other flag.
    fn parse_config_only(config: &std::path::Path) -> RunArgs {
        use clap::Parser;
        let cli = crate::Cli::parse_from([
            "stampede".as_ref(),
            "run".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
        ]);
        match cli.command {
            crate::Command::Run(args) => *args,
            _ => unreachable!("parsed a run command"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_sized_from_their_vus() {
        assert_eq!(resources(0), ("500m".into(), 128, 256));
        assert_eq!(resources(1000), ("4000m".into(), 378, 756));
    }
}
