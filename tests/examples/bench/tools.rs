//! What the side-by-side benchmarks share: the `stampede` binary and the memory of a
//! child process (reference tools from PyPI come from `stampede_tests::pypi_tool`).

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
