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
    ensure_wasm_target(&root);
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

/// Adds the `wasm32-wasip2` target to the pinned toolchain when its standard library is
/// missing: `rust-toolchain.toml` lists it, but rustup installs listed targets only with
/// the toolchain itself, and not at all where automatic installs are off
/// (`RUSTUP_AUTO_INSTALL=0`), so a fresh machine would fail here.
fn ensure_wasm_target(root: &Path) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .current_dir(root)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot
        .as_ref()
        .is_some_and(|s| s.join("lib/rustlib/wasm32-wasip2/lib").is_dir());
    if installed {
        return;
    }
    let status = Command::new("rustup")
        .current_dir(root)
        .args(["target", "add", "wasm32-wasip2"])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        panic!(
            "the wasm32-wasip2 target is not installed and `rustup target add wasm32-wasip2` failed; run it by hand (guests are built for that target)"
        );
    }
}

fn component_path(target_dir: &Path, package: &str) -> PathBuf {
    target_dir
        .join("wasm32-wasip2")
        .join(PROFILE)
        .join(format!("{}.wasm", package.replace('-', "_")))
}

/// Builds JavaScript scenarios with the JS SDK (`sdk/js`): each `(name, entry)` becomes
/// `target/guests/js/<name>.wasm`, whose paths are returned in order. Installs the SDK's
/// npm packages first when they are missing or older than its lock file, and skips a
/// component that is newer than everything it is built from.
pub fn build_js(scenarios: &[(&str, &str)]) -> Vec<PathBuf> {
    let root = workspace_root();
    let sdk = root.join("sdk/js");
    let out_dir = root.join("target").join("guests").join("js");
    for dir in [
        "sdk/js/src",
        "sdk/js/bin",
        "sdk/js/package-lock.json",
        "wit",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    npm_install(&sdk);
    let shared = newest(&[
        sdk.join("src"),
        sdk.join("bin"),
        sdk.join("package-lock.json"),
        root.join("wit"),
    ]);
    scenarios
        .iter()
        .map(|(name, entry)| {
            let entry = root.join(entry);
            let plugin_dir = entry.parent().expect("entry in a folder").to_path_buf();
            println!("cargo:rerun-if-changed={}", plugin_dir.display());
            let out = out_dir.join(format!("{name}.wasm"));
            let inputs = shared.max(newest(&[plugin_dir]));
            let fresh = mtime(&out).is_some_and(|built| Some(built) > inputs);
            if !fresh {
                run(
                    Command::new("node")
                        .arg(sdk.join("bin/stampede-js.js"))
                        .arg("build")
                        .arg(&entry)
                        .arg("-o")
                        .arg(&out)
                        .arg("--splice-cache")
                        .arg(out_dir.join("splice")),
                    &format!("building the JS scenario {name}"),
                );
            }
            out
        })
        .collect()
}

fn npm_install(sdk: &Path) {
    let lock = mtime(&sdk.join("package-lock.json"));
    let installed = mtime(&sdk.join("node_modules/.package-lock.json"));
    if installed.is_some() && installed >= lock {
        return;
    }
    // Not `npm ci`: npm refuses a lock file without other platforms' optional packages,
    // which is how npm writes it here. `--no-save` installs exactly the locked versions
    // and leaves the lock file alone.
    run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--no-save"])
            .current_dir(sdk),
        "installing the JS SDK's npm packages (npm install in sdk/js)",
    );
}

fn run(cmd: &mut Command, what: &str) {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!(
            "{what}: cannot start {:?} ({e}); the JavaScript SDK needs Node.js 18 or newer with npm",
            cmd.get_program()
        ),
    };
    if !out.status.success() {
        panic!(
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files under `paths`.
fn newest(paths: &[PathBuf]) -> Option<std::time::SystemTime> {
    let mut best = None;
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else {
            best = best.max(mtime(&p));
        }
    }
    best
}

/// The project's own virtualenv with the pinned PyPI packages of `sdk/build/requirements.txt`
/// (componentize-py, Go, wasm-tools), created or updated when the list changed. Returns
/// its `bin` directory.
pub fn python_tools() -> PathBuf {
    let root = workspace_root();
    let reqs = root.join("sdk/build/requirements.txt");
    println!("cargo:rerun-if-changed={}", reqs.display());
    let venv = root.join("target/toolchains/venv");
    let bin = venv.join("bin");
    let stamp = venv.join("installed-requirements.txt");
    let wanted = std::fs::read_to_string(&reqs).expect("sdk/build/requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return bin;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if !bin.join("python").exists() {
        run(
            Command::new(&python).arg("-m").arg("venv").arg(&venv),
            "creating target/toolchains/venv (needs Python 3.10+ with venv)",
        );
    }
    run(
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&reqs),
        "installing the guest toolchains from PyPI (pip install -r sdk/build/requirements.txt)",
    );
    std::fs::write(&stamp, wanted).expect("writing the toolchain stamp");
    bin
}

/// Builds Python scenarios with the Python SDK (`sdk/python`): each `(name, entry)`
/// becomes `target/guests/py/<name>.wasm`; skipped when newer than its inputs.
pub fn build_python(scenarios: &[(&str, &str)]) -> Vec<PathBuf> {
    let root = workspace_root();
    let sdk = root.join("sdk/python");
    println!("cargo:rerun-if-changed={}", sdk.display());
    let bin = python_tools();
    let shared = newest(&[
        sdk.clone(),
        root.join("wit"),
        root.join("sdk/build/requirements.txt"),
    ]);
    scenarios
        .iter()
        .map(|(name, entry)| {
            let entry = root.join(entry);
            let dir = entry.parent().expect("entry in a folder").to_path_buf();
            println!("cargo:rerun-if-changed={}", dir.display());
            let out = root.join("target/guests/py").join(format!("{name}.wasm"));
            let inputs = shared.max(newest(&[dir]));
            if mtime(&out).is_none_or(|built| Some(built) <= inputs) {
                run(
                    Command::new(bin.join("python"))
                        .args(["-m", "stampede_build", "build"])
                        .arg(&entry)
                        .arg("-o")
                        .arg(&out)
                        .env("PYTHONPATH", &sdk)
                        .env("PYTHONDONTWRITEBYTECODE", "1"),
                    &format!("building the Python scenario {name}"),
                );
            }
            out
        })
        .collect()
}

/// Builds Go scenarios with the Go SDK (`sdk/go/build.py`: Go and wasm-tools from the
/// virtualenv, the WASI reactor adapter from wasmtime's adapter crate): each
/// `(name, project dir)` becomes `target/guests/go/<name>.wasm`.
pub fn build_go(scenarios: &[(&str, &str)]) -> Vec<PathBuf> {
    let root = workspace_root();
    let sdk = root.join("sdk/go");
    println!("cargo:rerun-if-changed={}", sdk.display());
    let bin = python_tools();
    let adapter = root.join("target/toolchains/wasi_snapshot_preview1.reactor.wasm");
    let bytes = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    if std::fs::read(&adapter).ok().as_deref() != Some(bytes) {
        std::fs::write(&adapter, bytes).expect("writing the WASI reactor adapter");
    }
    let shared = newest(&[sdk.clone(), root.join("wit"), adapter.clone()]);
    scenarios
        .iter()
        .map(|(name, dir)| {
            let dir = root.join(dir);
            println!("cargo:rerun-if-changed={}", dir.display());
            let out = root.join("target/guests/go").join(format!("{name}.wasm"));
            let inputs = shared.max(newest(std::slice::from_ref(&dir)));
            if mtime(&out).is_none_or(|built| Some(built) <= inputs) {
                run(
                    Command::new(bin.join("python"))
                        .arg(sdk.join("build.py"))
                        .arg(&dir)
                        .arg("-o")
                        .arg(&out)
                        .arg("--wit")
                        .arg(root.join("wit"))
                        .arg("--adapter")
                        .arg(&adapter),
                    &format!("building the Go scenario {name}"),
                );
            }
            out
        })
        .collect()
}
