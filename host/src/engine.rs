//! Once per run: the wasmtime `Engine` (configured here and nowhere else) and the
//! scenario component, compiled once and cached on disk.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Limits every instance of a run lives within.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    /// Instances alive at once (VUs, plus slack for re-instantiation after a trap).
    pub max_instances: u32,
    /// Linear memory cap per instance, bytes.
    pub memory_cap: usize,
    /// Meter fuel (a CPU budget per call); off leaves only the wall-clock limit.
    pub fuel: bool,
    /// Epoch interruption (a busy guest yields every tick). Off only to measure its
    /// cost: a spinning guest would then hold its worker thread.
    pub epoch: bool,
}

/// Core instances, memories and tables one component may use: a Rust or Go component
/// has a handful of each, JS and Python a few more.
const CORE_INSTANCES_PER_COMPONENT: u32 = 50;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;
/// Slack for instances being torn down while their replacement starts.
const SLACK: u32 = 8;

pub fn engine(settings: EngineSettings) -> Result<Engine> {
    let n = settings.max_instances.saturating_add(SLACK);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        // Most components use far fewer core instances than the per-component maximum;
        // the totals are what actually reserve slots.
        .total_core_instances(n.saturating_mul(6))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(4))
        .total_stacks(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size(settings.memory_cap)
        .table_elements(100_000);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        // A reservation of the cap (not 4 GiB) keeps 10,000 VUs within the address space.
        .memory_reservation(settings.memory_cap as u64)
        .memory_guard_size(64 << 10)
        .memory_reservation_for_growth(0)
        .epoch_interruption(settings.epoch)
        .consume_fuel(settings.fuel)
        .wasm_backtrace_max_frames(None)
        .parallel_compilation(true);
    Engine::new(&config)
        .map_err(|e| anyhow::Error::from(e).context("configuring the wasmtime engine"))
}

/// Where compiled components are kept: `$STAMPEDE_CACHE_DIR`, else the user's cache
/// directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("STAMPEDE_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("stampede"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("stampede"))
}

/// A loaded scenario component and what identifies it.
pub struct LoadedComponent {
    pub component: Component,
    pub sha256: String,
    pub cache_hit: bool,
}

/// Compiles `bytes` (read from `path`), or loads the cached compilation keyed by the
/// bytes' hash and the engine's settings.
pub fn load_component(
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> Result<LoadedComponent> {
    let sha256 = hex(&Sha256::digest(bytes));
    check_is_component(path, bytes)?;
    let cache_file = cache_dir.map(|dir| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        dir.join(format!("{}-{:016x}.cwasm", &sha256[..32], h.finish()))
    });
    if let Some(file) = &cache_file
        && file.exists()
    {
        // SAFETY: the file was written by `Component::serialize` of this same engine
        // configuration (the key includes its compatibility hash) into a cache directory
        // the user owns; a corrupt or foreign file is rejected by wasmtime's header check
        // and we fall back to compiling.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, file) } {
            return Ok(LoadedComponent {
                component,
                sha256,
                cache_hit: true,
            });
        }
    }
    let component = Component::new(engine, bytes).map_err(|e| {
        anyhow::anyhow!(
            "scenario {}: not a valid WebAssembly component: {}",
            path.display(),
            first_line(&format!("{e:#}"))
        )
    })?;
    if let Some(file) = &cache_file {
        // The cache is an optimisation: failing to write it must not fail the run.
        if let Ok(serialized) = component.serialize()
            && std::fs::create_dir_all(file.parent().expect("cache file has a dir")).is_ok()
        {
            let tmp = file.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, serialized).is_ok() {
                let _ = std::fs::rename(&tmp, file);
            }
        }
    }
    Ok(LoadedComponent {
        component,
        sha256,
        cache_hit: false,
    })
}

/// Turns the common mistakes into an error that says what to do.
fn check_is_component(path: &Path, bytes: &[u8]) -> Result<()> {
    let p = path.display();
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        bail!(
            "scenario {p}: not a WebAssembly file (no \\0asm header); pass the .wasm a scenario build produced"
        );
    }
    // Byte 4..8: version 1 = core module, 0x0d 0x00 0x01 0x00 = component.
    if bytes[4..8] == [1, 0, 0, 0] {
        bail!(
            "scenario {p}: is a core WebAssembly module, not a component; build it for wasm32-wasip2 (or wrap it with `wasm-tools component new`)"
        );
    }
    Ok(())
}

pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
