//! What the test modules share to run the real binary (the binary's path is given to
//! integration tests only, so this lives here, not in the support library).

use stampede_tests::stampede_bin;

/// What a run of the real binary printed, and its exit code.
pub struct CliOut {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `stampede` binary with `args`, its compile cache in `cache`, no step summary
/// file, and `envs` added; a panic of the host fails the test.
pub fn run_cli(args: &[&str], cache: &std::path::Path, envs: &[(&str, &str)]) -> CliOut {
    let mut c = command(cache);
    output(c.args(args).envs(envs.iter().copied()))
}

/// [`run_cli`] from `dir`, where the run writes what its script asks to.
pub fn run_cli_in(dir: &std::path::Path, args: &[&str], cache: &std::path::Path) -> CliOut {
    let mut c = command(cache);
    output(c.args(args).current_dir(dir))
}

/// The binary with the test cache and without the CI's job summary (a test may set one).
fn command(cache: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(stampede_bin!());
    c.env("STAMPEDE_CACHE_DIR", cache)
        .env_remove("GITHUB_STEP_SUMMARY");
    c
}

/// What the run printed; a panic of the host fails the test.
fn output(c: &mut std::process::Command) -> CliOut {
    let o = c.output().unwrap();
    let out = CliOut {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

/// Tests share one process and two cores: a test that builds projects with whole
/// toolchains (minutes of CPU) never runs beside one whose figures depend on timing (a
/// journey of a few seconds, a neighbour's schedule). Heavy tests may run together, and
/// timed ones together: the room holds one kind at a time.
static ROOM: std::sync::Mutex<[usize; 2]> = std::sync::Mutex::new([0, 0]);
static ROOM_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// Presence in the room, left when dropped.
pub struct InRoom(usize);

fn enter(kind: usize) -> InRoom {
    let mut inside = ROOM.lock().unwrap_or_else(|e| e.into_inner());
    while inside[1 - kind] > 0 {
        inside = ROOM_FREED.wait(inside).unwrap_or_else(|e| e.into_inner());
    }
    inside[kind] += 1;
    InRoom(kind)
}

impl Drop for InRoom {
    fn drop(&mut self) {
        let mut inside = ROOM.lock().unwrap_or_else(|e| e.into_inner());
        inside[self.0] -= 1;
        ROOM_FREED.notify_all();
    }
}

/// Held by a test that keeps the cores busy for long.
pub fn heavy() -> InRoom {
    enter(0)
}

/// Held by a test whose figures depend on timing, while it measures.
pub fn timed() -> InRoom {
    enter(1)
}

/// The cache of the tests that build sources: the suite's one cache.
pub fn shared_cache() -> std::path::PathBuf {
    stampede_tests::compile_cache()
}

/// A one-worker runtime of the test's own, for a server beside a CLI child (the suite's
/// builds take both cores).
pub fn own_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// The summary's figures for requests named `name`.
pub fn endpoint<'a>(
    s: &'a stampede::metrics::Summary,
    name: &str,
) -> &'a stampede::metrics::summary::EndpointSummary {
    s.endpoints
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no requests named {name:?} in {:?}",
                s.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>()
            )
        })
}

/// Requests named `name` in the summary (0 when there were none).
pub fn requests(s: &stampede::metrics::Summary, name: &str) -> u64 {
    s.endpoints
        .iter()
        .find(|e| e.name == name)
        .map_or(0, |e| e.requests)
}

/// A reference tool from PyPI, in the test cache (once per machine).
pub fn pypi_reference(package: &str, version: &str, bin: &str) -> std::path::PathBuf {
    stampede_tests::pypi_tool(&shared_cache().join("toolchains"), package, version, bin)
}
