//! The Python SDK's unit tests, against bindings componentize-py generates from the WIT
//! (so the SDK is checked against the real generated types), with the host functions
//! replaced by recorders. The build script has made the virtualenv.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn python_sdk_unit_tests_pass() {
    let root = root();
    let bin = root.join("target/toolchains/venv/bin");
    let bindings = stampede_tests::scratch_dir("py-bindings");
    let out = Command::new(bin.join("componentize-py"))
        .arg("-d")
        .arg(root.join("wit"))
        .args(["-w", "scenario", "bindings"])
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
