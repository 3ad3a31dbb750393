//! Used by build scripts (host: the bundled demo scenario; tests: plugins and fixtures)
//! to build guest crates of this workspace to `wasm32-wasip2` components.
//!
//! A nested cargo with its own target directory: the outer build holds the lock on its
//! own, so they cannot deadlock, and guests are built once for both users.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Profile guests are built with (size-optimised; see the workspace Cargo.toml).
pub const PROFILE: &str = "guest";

pub fn workspace_root() -> PathBuf {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run from a build script"));
    manifest
        .ancestors()
        .find(|p| p.join("Cargo.toml").exists() && p.join("wit").is_dir())
        .expect("workspace root with wit/")
        .to_path_buf()
}

/// Builds `packages` and returns each one's component path, in order. Panics with the
/// cargo output on failure (a build script has no better way to report).
pub fn build(packages: &[&str]) -> Vec<PathBuf> {
    let root = workspace_root();
    let target_dir = root.join("target").join("guests");
    for dir in [
        "wit",
        "sdk/rust",
        "plugins",
        "tests/fixtures",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--target", "wasm32-wasip2", "--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    for p in packages {
        cmd.args(["-p", p]);
    }
    // The outer build's settings are for the host target, not ours.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_PROFILE_") || k.starts_with("CARGO_FEATURE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().expect("running cargo for the guests");
    if !out.status.success() {
        panic!(
            "building guests {packages:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    packages
        .iter()
        .map(|p| component_path(&target_dir, p))
        .collect()
}

fn component_path(target_dir: &Path, package: &str) -> PathBuf {
    target_dir
        .join("wasm32-wasip2")
        .join(PROFILE)
        .join(format!("{}.wasm", package.replace('-', "_")))
}
