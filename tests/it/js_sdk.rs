//! The JavaScript SDK: its unit tests (Node's test runner, host imports stubbed), a
//! TypeScript check of its declarations and of the JS plugins, and its declarations
//! kept in step with the WIT. The build script has installed its npm packages.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    stampede_tests::repo_root()
}

fn node(args: &[&str]) -> (bool, String) {
    let out = Command::new("node")
        .args(args)
        .current_dir(root().join("sdk/js"))
        .output()
        .expect("node runs (the JS SDK needs Node.js)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn sdk_unit_tests_pass_in_node() {
    let (ok, out) = node(&["test/run.mjs"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("# fail 0") && !out.contains("# pass 0"),
        "{out}"
    );
}

#[test]
fn declarations_and_js_plugins_typecheck() {
    let (ok, out) = node(&["node_modules/typescript/bin/tsc", "-p", "."]);
    assert!(ok, "tsc found errors:\n{out}");
}

/// The cases of `variant|record|flags NAME { ... }` in the WIT, in order.
fn wit_cases(wit: &str, kind: &str, name: &str) -> Vec<String> {
    let start = wit
        .find(&format!("{kind} {name} {{"))
        .unwrap_or_else(|| panic!("no {kind} {name} in the WIT"));
    let body = &wit[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| l.split(['(', ':', ',']).next().unwrap().trim().to_string())
        .collect()
}

/// The string literals of a TypeScript union `type NAME = | 'a' | 'b';`.
fn ts_union(dts: &str, name: &str) -> Vec<String> {
    let start = dts
        .find(&format!("type {name} ="))
        .expect("union in index.d.ts");
    let body = &dts[start..];
    let body = &body[..body.find(';').unwrap()];
    body.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn declarations_are_in_step_with_the_wit() {
    let wit = std::fs::read_to_string(root().join("wit/scenario.wit")).unwrap();
    let dts = std::fs::read_to_string(root().join("sdk/js/src/index.d.ts")).unwrap();
    assert_eq!(
        ts_union(&dts, "HttpErrorKind"),
        wit_cases(&wit, "variant", "http-error"),
        "HttpErrorKind in sdk/js/src/index.d.ts must list the WIT http-error cases"
    );
    // WaitTime tags, in the order the WIT lists them.
    let waits: Vec<String> = dts
        .split("{ tag: '")
        .skip(1)
        .map(|s| s[..s.find('\'').unwrap()].to_string())
        .collect();
    assert_eq!(waits, wit_cases(&wit, "variant", "wait-time"));
    // Timings: the same phases, in milliseconds rather than microseconds.
    let phases: Vec<String> = wit_cases(&wit, "record", "timings")
        .iter()
        .map(|f| f.trim_end_matches("-us").to_string())
        .collect();
    let ts = &dts[dts.find("interface Timings {").unwrap()..];
    let ts = &ts[..ts.find('}').unwrap()];
    for p in &phases {
        assert!(ts.contains(&format!("  {p}: number;")), "Timings lacks {p}");
    }
    // Every request field the SDK sets is documented against its WIT name.
    for field in wit_cases(&wit, "record", "http-request") {
        let covered = match field.as_str() {
            "method" | "url" => dts.contains("request(method: string, url: string"),
            "headers" | "body" => dts.contains(&format!("  {field}?:")),
            other => dts.contains(&format!("WIT `{other}`")),
        };
        assert!(
            covered,
            "index.d.ts does not cover the WIT http-request field {field}"
        );
    }
}

/// Builds `source` with `stampede-js build`; returns (success, stderr).
fn build_js(name: &str, source: &str) -> (bool, String) {
    let dir = stampede_tests::scratch_dir(&format!("js-build-{name}"));
    let entry = dir.join(format!("{name}.js"));
    std::fs::write(&entry, source).unwrap();
    let out = Command::new("node")
        .arg(root().join("sdk/js/bin/stampede-js.js"))
        .arg("build")
        .arg(&entry)
        .arg("-o")
        .arg(dir.join("out.wasm"))
        .output()
        .expect("node runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn build_errors_are_one_line_and_name_the_problem() {
    let cases = [
        (
            "syntax",
            "export default { tasks: [ ;\n",
            "syntax.js:1:26: Unexpected \";\"",
        ),
        (
            "no_tasks",
            "export default { tasks: [] };\n",
            "the module threw while it was built (top-level code runs at build time): TypeError: the user has no tasks",
        ),
        (
            "host_at_top",
            "import { env, task } from '@stampede/sdk';\nconst e = env('A');\nexport default { tasks: [task(1, function a() {})] };\n",
            "move calls such as env() into onStart",
        ),
    ];
    for (name, source, expected) in cases {
        let (ok, err) = build_js(name, source);
        assert!(!ok, "{name} built");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{name}: {err}");
        assert!(
            lines[0].starts_with("stampede-js: ") && lines[0].contains(expected),
            "{name}: {err}"
        );
    }
}
