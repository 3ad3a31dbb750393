//! The Python SDK's unit tests, against bindings componentize-py generates from the WIT
//! (so the SDK is checked against the real generated types), with the host functions
//! replaced by recorders. The build script has made the virtualenv.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    stampede_tests::repo_root()
}

#[test]
fn python_sdk_unit_tests_pass() {
    let root = root();
    let bin = root.join("target/toolchains/venv/bin");
    let bindings = stampede_tests::scratch_dir("py-bindings");
    let out = Command::new(bin.join("componentize-py"))
        .arg("-d")
        .arg(root.join("wit"))
        .args(["-w", "scenario-with-setup", "bindings"])
        .arg(&bindings)
        .output()
        .expect("componentize-py runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = std::env::join_paths([bindings.clone(), root.join("sdk/python")]).unwrap();
    let out = Command::new(bin.join("python"))
        .args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(root.join("sdk/python/tests"))
        .env("PYTHONPATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        !text.contains("Ran 0 tests") && text.trim_end().ends_with("OK"),
        "{text}"
    );
}

#[test]
fn build_errors_are_one_line_and_name_the_problem() {
    let root = root();
    let dir = stampede_tests::scratch_dir("py-build-errors");
    let cases = [
        (
            "bad_syntax",
            "from stampede import HttpUser\nclass A(HttpUser:\n    pass\n",
            // Checked before componentize: the line first, as an editor reads it.
            "SyntaxError: invalid syntax",
        ),
        (
            "no_user",
            "from stampede import HttpUser\nx = 1\n",
            "TypeError: no_user: expected one HttpUser subclass, found none",
        ),
    ];
    for (name, source, expected) in cases {
        let entry = dir.join(format!("{name}.py"));
        std::fs::write(&entry, source).unwrap();
        let out = Command::new(root.join("target/toolchains/venv/bin/python"))
            .args(["-m", "stampede_build", "build"])
            .arg(&entry)
            .arg("-o")
            .arg(dir.join("out.wasm"))
            .env("PYTHONPATH", root.join("sdk/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("python runs");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!out.status.success(), "{name} built");
        assert_eq!(
            lines,
            [if name == "bad_syntax" {
                format!("stampede-py: {name}.py:2: {expected}")
            } else {
                format!("stampede-py: {name}.py: {expected}")
            }],
            "{name}"
        );
    }
}
