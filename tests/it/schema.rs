//! The `--summary-json` format has a committed JSON schema; real output must match it.

use std::path::PathBuf;

use stampede::executor::{Load, Plan};
use stampede::run::{RunConfig, StopSignals, run};
use stampede_tests::*;

fn schema_path() -> PathBuf {
    stampede_tests::repo_root().join("schemas/summary.schema.json")
}

#[test]
fn committed_schema_matches_the_code() {
    let generated = stampede::gate::Judged::json_schema();
    if std::env::var_os("STAMPEDE_BLESS").is_some() {
        std::fs::write(schema_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/summary.schema.json is out of date: run `STAMPEDE_BLESS=1 cargo test --release --test it schema` and commit it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_output_validates_against_the_schema() {
    let server = start_server().await;
    let mut cfg = RunConfig::new(
        PathBuf::from(PROBE_WASM),
        Plan::new(2, Load::iterations(40)),
    );
    cfg.target = Some(server.url().parse().unwrap());
    // A mix that fills every section: requests, failures, checks, custom metrics, errors.
    cfg.env = vec![("TASKS".into(), "get,custom,fail,cookies".into())];
    cfg.trace_context = Some(true);
    let s = run(cfg, StopSignals::none(), |_| {}).await.unwrap();
    assert!(!s.custom.is_empty() && !s.errors.is_empty() && !s.checks.is_empty());
    assert!(s.endpoints.iter().all(|e| !e.exemplars.is_empty()));
    // Judged, so the thresholds and the verdict are in the document too.
    let judged = stampede::gate::judge(s, &stampede::gate::Gate::default());
    assert!(!judged.thresholds.is_empty() && judged.verdict.is_some());
    let instance: serde_json::Value = serde_json::from_str(&judged.to_json()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&stampede::gate::Judged::json_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And the schema rejects what it should: a summary without its totals.
    let mut broken = instance.clone();
    broken.as_object_mut().unwrap().remove("totals");
    assert!(!validator.is_valid(&broken));
}
