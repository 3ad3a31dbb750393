//! A k6 script's `handleSummary(data)`: the run's figures as k6's summary data (its
//! metrics with their values and thresholds, its checks by group), handed to the
//! script once after the run; what it returns is written where it says, within bounds.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};
use stampede::gate::Judged;
use stampede::metrics::summary::{CheckSummary, TrendSummary};
use stampede::run::RunConfig;

/// Bytes one destination may receive.
const MAX_OUTPUT: usize = 64 << 20;
/// Destinations one `handleSummary` may name.
const MAX_OUTPUTS: usize = 64;

/// Calls the script's `handleSummary` with the run's figures and writes what it returns
/// (files relative to the current directory). Problems are said on stderr: the run's
/// own reports are already written and its verdict stands.
pub fn handle(cfg: &RunConfig, judged: &Judged) {
    let bytes = match &cfg.scenario_bytes {
        Some(b) => b.clone(),
        None => match std::fs::read(&cfg.scenario) {
            Ok(b) => b.into(),
            Err(_) => return,
        },
    };
    if !stampede::run::may_handle_summary(&bytes) {
        return;
    }
    // A segment's figures are part of the run's: the whole run's go to handleSummary
    // once, when `stampede merge` joins the segments.
    if let Some(seg) = cfg.segment {
        eprintln!(
            "stampede: {}: handleSummary is not called for segment {}/{}: `stampede merge --config` calls it with the whole run's figures",
            cfg.scenario.display(),
            seg.index + 1,
            seg.count
        );
        return;
    }
    let mut cfg = cfg.clone();
    cfg.scenario_bytes = Some(bytes);
    let name = cfg.scenario.display().to_string();
    let outputs = match stampede::run::script_summary(&cfg, data(judged).to_string(), &mut |_| {}) {
        Ok(Some(o)) => o,
        Ok(None) => return,
        Err(e) => {
            eprintln!(
                "stampede: warning: {name}: handleSummary failed, so nothing it returns is written: {e:#}"
            );
            return;
        }
    };
    for line in write(&outputs, Path::new(".")) {
        eprintln!("stampede: warning: {name}: handleSummary: {line}");
    }
}

/// Writes each output: `stdout`, `stderr`, or a relative path under `dir` (an absolute
/// path or one leaving `dir` is refused: a script does not choose where on the host it
/// writes). What could not be written, one line each.
fn write(outputs: &[(String, String)], dir: &Path) -> Vec<String> {
    use std::io::Write;
    let mut said = Vec::new();
    if outputs.len() > MAX_OUTPUTS {
        said.push(format!(
            "{} destinations, more than {MAX_OUTPUTS}: the rest are not written",
            outputs.len()
        ));
    }
    for (to, text) in outputs.iter().take(MAX_OUTPUTS) {
        if text.len() > MAX_OUTPUT {
            said.push(format!(
                "{to}: {} bytes, more than the {} MiB an output may have: not written",
                text.len(),
                MAX_OUTPUT >> 20
            ));
            continue;
        }
        let done = match to.as_str() {
            "stdout" => std::io::stdout().lock().write_all(text.as_bytes()),
            "stderr" => std::io::stderr().lock().write_all(text.as_bytes()),
            path => match within(dir, path) {
                Some(p) => std::fs::write(&p, text),
                None => {
                    said.push(format!(
                        "{path}: not written: a file is written under the run's directory, by a relative path without `..`"
                    ));
                    continue;
                }
            },
        };
        if let Err(e) = done {
            said.push(format!("{to}: cannot write: {e}"));
        }
    }
    said
}

/// `path` under `dir`, if it is relative and never leaves it.
fn within(dir: &Path, path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let plain = !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    plain.then(|| dir.join(p))
}

/// k6's summary data for `j`: `metrics` (each with its type, what it contains, its
/// values and its thresholds), `root_group` (checks by group), `state` and `options`.
pub fn data(j: &Judged) -> Value {
    let s = &j.summary;
    let secs = s.duration_s.max(f64::MIN_POSITIVE);
    let t = &s.totals;
    let mut metrics = Map::new();
    let counter = |count: u64, contains: &str| json!({"type": "counter", "contains": contains, "values": {"count": count, "rate": count as f64 / secs}});
    let rate = |passes: u64, fails: u64| {
        let all = passes + fails;
        json!({"type": "rate", "contains": "default", "values": {
            "rate": if all == 0 { 0.0 } else { passes as f64 / all as f64 },
            "passes": passes, "fails": fails}})
    };
    metrics.insert("http_reqs".into(), counter(t.http_reqs, "default"));
    metrics.insert(
        "http_req_failed".into(),
        rate(t.http_req_failed, t.http_reqs - t.http_req_failed),
    );
    metrics.insert("iterations".into(), counter(t.iterations, "default"));
    metrics.insert("data_sent".into(), counter(t.data_sent, "data"));
    metrics.insert("data_received".into(), counter(t.data_received, "data"));
    metrics.insert("checks".into(), rate(t.checks_passed, t.checks_failed));
    if t.dropped_iterations > 0 {
        metrics.insert(
            "dropped_iterations".into(),
            counter(t.dropped_iterations, "default"),
        );
    }
    let vus = s.vus_max as f64;
    metrics.insert(
        "vus_max".into(),
        json!({"type": "gauge", "contains": "default", "values": {"value": vus, "min": vus, "max": vus}}),
    );
    for (name, trend) in [
        ("http_req_duration", &s.http_req_duration),
        ("http_req_waiting", &s.http_req_waiting),
        ("http_req_connecting", &s.http_req_connecting),
        ("http_req_tls_handshaking", &s.http_req_tls_handshaking),
        ("iteration_duration", &s.iteration_duration),
    ] {
        if trend.count > 0 {
            metrics.insert(name.into(), trend_metric(trend, "time"));
        }
    }
    for c in &s.custom {
        let v = match (c.kind.as_str(), &c.trend) {
            (_, Some(trend)) => trend_metric(trend, "default"),
            ("counter", None) => counter(c.value as u64, "default"),
            ("rate", None) => {
                let passes = (c.value * c.count as f64).round() as u64;
                rate(passes, c.count - passes.min(c.count))
            }
            _ => {
                json!({"type": "gauge", "contains": "default", "values": {"value": c.value, "min": c.value, "max": c.value}})
            }
        };
        metrics.insert(c.name.clone(), v);
    }
    for th in &j.thresholds {
        let Some((metric, rule)) = th.expression.split_once(": ") else {
            continue;
        };
        // A sub-metric (`http_reqs{type:API}`) not listed is of its metric's kind.
        let base = metric.split('{').next().unwrap_or(metric);
        let kind = metrics.get(base).map_or_else(
            || (json!("trend"), json!("default")),
            |m| (m["type"].clone(), m["contains"].clone()),
        );
        let entry = metrics
            .entry(metric.to_string())
            .or_insert_with(|| json!({"type": kind.0, "contains": kind.1, "values": {}}));
        let thresholds = entry
            .as_object_mut()
            .expect("a metric is an object")
            .entry("thresholds")
            .or_insert_with(|| json!({}));
        thresholds[rule] = json!({"ok": th.passed});
    }
    json!({
        "root_group": groups(&s.checks),
        "options": {"summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)"], "summaryTimeUnit": "", "noColor": false},
        "state": {"isStdOutTTY": false, "isStdErrTTY": false, "testRunDurationMs": s.duration_s * 1000.0},
        "metrics": metrics,
    })
}

fn trend_metric(t: &TrendSummary, contains: &str) -> Value {
    json!({"type": "trend", "contains": contains, "values": {
        "avg": t.avg, "min": t.min, "med": t.med, "max": t.max, "p(90)": t.p90, "p(95)": t.p95}})
}

/// The checks by group, as k6 nests them: a check named `::a::b::name` is in group `b`
/// of group `a`.
fn groups(checks: &[CheckSummary]) -> Value {
    #[derive(Default)]
    struct Group {
        checks: Vec<(String, u64, u64)>,
        groups: BTreeMap<String, Group>,
    }
    let mut root = Group::default();
    for c in checks {
        let mut parts: Vec<&str> = c.name.split("::").collect();
        let name = parts.pop().unwrap_or_default().to_string();
        let mut g = &mut root;
        for p in parts.into_iter().filter(|p| !p.is_empty()) {
            g = g.groups.entry(p.to_string()).or_default();
        }
        g.checks.push((name, c.passes, c.fails));
    }
    fn out(name: &str, path: &str, g: &Group) -> Value {
        json!({
            "name": name,
            "path": path,
            "id": format!("{:x}", path_id(path)),
            "groups": g.groups.iter().map(|(n, sub)| out(n, &format!("{path}::{n}"), sub)).collect::<Vec<_>>(),
            "checks": g.checks.iter().map(|(n, passes, fails)| json!({
                "name": n, "path": format!("{path}::{n}"), "id": format!("{:x}", path_id(&format!("{path}::{n}"))),
                "passes": passes, "fails": fails})).collect::<Vec<_>>(),
        })
    }
    out("", "", &root)
}

/// A stable id for a group or check path (k6 uses an MD5 of the path; scripts compare
/// ids only with each other).
fn path_id(path: &str) -> u64 {
    // FNV-1a: stable across runs and builds, unlike the standard library's hasher.
    path.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_go_only_under_the_runs_directory() {
        let dir = std::env::temp_dir().join(format!("k6-summary-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("out")).unwrap();
        let said = write(
            &[
                ("out/summary.json".into(), "{}".into()),
                ("/etc/passwd".into(), "x".into()),
                ("../escape.txt".into(), "x".into()),
                ("out/../../escape.txt".into(), "x".into()),
                ("missing/dir/x.txt".into(), "x".into()),
            ],
            &dir,
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("out/summary.json")).unwrap(),
            "{}"
        );
        assert_eq!(said.len(), 4, "{said:?}");
        assert!(said[0].starts_with("/etc/passwd: not written"), "{said:?}");
        assert!(
            said[3].starts_with("missing/dir/x.txt: cannot write"),
            "{said:?}"
        );
        assert!(!dir.join("../escape.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checks_nest_by_group_path() {
        let g = groups(&[
            check("top", 1, 0),
            check("::shop::cart::has items", 2, 1),
            check("::shop::listed", 3, 0),
        ]);
        assert_eq!(g["checks"][0]["name"], "top");
        assert_eq!(g["groups"][0]["name"], "shop");
        assert_eq!(g["groups"][0]["path"], "::shop");
        assert_eq!(g["groups"][0]["checks"][0]["name"], "listed");
        let cart = &g["groups"][0]["groups"][0];
        assert_eq!(cart["path"], "::shop::cart");
        assert_eq!(
            (
                cart["checks"][0]["passes"].as_u64(),
                cart["checks"][0]["fails"].as_u64()
            ),
            (Some(2), Some(1))
        );
    }

    fn check(name: &str, passes: u64, fails: u64) -> CheckSummary {
        CheckSummary {
            scenario: None,
            name: name.into(),
            passes,
            fails,
        }
    }
}
