//! Once per run: the wasmtime `Engine` (configured here and nowhere else) and the
//! scenario component, compiled once and cached on disk.

mod code_cache;
pub mod producers;

use code_cache::CodeCache;
pub use code_cache::CodeReuse;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
};

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
/// has a handful of each, JS and Python a few more. A component over these is refused
/// when it is loaded, before any load starts.
const CORE_INSTANCES_PER_COMPONENT: u32 = 50;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;
/// Slack for instances being torn down while their replacement starts.
const SLACK: u32 = 8;
/// Address space the pool's linear memories may reserve. A 4 GiB reservation per memory
/// lets compiled code drop the bounds check of every load and store (a Python or JS
/// interpreter runs markedly faster without them); it is used while every memory of
/// every slot fits within this, and past it each memory reserves only its cap.
const UNCHECKED_BUDGET: u64 = 64 << 40;
const FOUR_GIB: u64 = 4 << 30;

/// The per-memory reservation for a run of `max_instances`: decided from the instance
/// count alone, so the probe engine and the run's engine compile the same code.
fn memory_reservation(settings: EngineSettings) -> u64 {
    let memories =
        u64::from(settings.max_instances.saturating_add(SLACK)) * u64::from(MEMORIES_PER_COMPONENT);
    if memories.saturating_mul(FOUR_GIB) <= UNCHECKED_BUDGET {
        FOUR_GIB.max(settings.memory_cap as u64)
    } else {
        settings.memory_cap as u64
    }
}

/// What one instance of a component takes from the pooling allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceNeeds {
    pub memories: u32,
    pub tables: u32,
}

impl InstanceNeeds {
    /// The per-component maxima: what the pool must allow before the component is known.
    const MAX: InstanceNeeds = InstanceNeeds {
        memories: MEMORIES_PER_COMPONENT,
        tables: TABLES_PER_COMPONENT,
    };

    /// Read from a compiled component; `None` when it cannot be known statically (a
    /// component importing core modules), and the maxima apply.
    pub fn of(component: &Component) -> Option<InstanceNeeds> {
        let r = component.resources_required()?;
        Some(InstanceNeeds {
            memories: r.num_memories,
            tables: r.num_tables,
        })
    }
}

/// An engine whose pool holds `settings.max_instances` instances of a component with
/// `needs` at once (each VU one instance), so no VU can fail for want of a slot.
/// With `code_cache`, compilations reuse the machine code of functions compiled before
/// (by any run sharing the cache directory).
fn sized_engine(
    settings: EngineSettings,
    needs: InstanceNeeds,
    reservation: u64,
    code_cache: Option<Arc<CodeCache>>,
) -> Result<Engine> {
    let n = settings.max_instances.saturating_add(SLACK);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        // Core instances are only counted (no memory is set aside for them), so the
        // total follows the per-component maximum that `Component::new` enforces.
        .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        // Memories and tables reserve address space per slot: exactly what is needed.
        .total_memories(n.saturating_mul(needs.memories.max(1)))
        .total_tables(n.saturating_mul(needs.tables.max(1)))
        .total_stacks(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size(settings.memory_cap)
        .table_elements(100_000);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        // The cap still bounds each memory (max_memory_size); the reservation only decides
        // whether bounds checks are compiled in.
        .memory_reservation(reservation)
        .memory_guard_size(64 << 10)
        .memory_reservation_for_growth(0)
        .epoch_interruption(settings.epoch)
        .consume_fuel(settings.fuel)
        .wasm_backtrace_max_frames(None)
        .parallel_compilation(true);
    // `STAMPEDE_PROFILE=perfmap` names the guest's functions for `perf` (a developer's
    // switch: the map goes to /tmp/perf-PID.map).
    if std::env::var_os("STAMPEDE_PROFILE").is_some_and(|v| v == "perfmap") {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    if let Some(store) = code_cache {
        config.enable_incremental_compilation(store)?;
    }
    Engine::new(&config)
        .map_err(|e| anyhow::Error::from(e).context("configuring the wasmtime engine"))
}

/// An engine for components not known yet: the pool allows the per-component maxima.
pub fn engine(settings: EngineSettings) -> Result<Engine> {
    sized_engine(
        settings,
        InstanceNeeds::MAX,
        memory_reservation(settings),
        None,
    )
}

/// The incremental code cache's file in the cache directory.
const CODE_CACHE_FILE: &str = "functions.pack";

/// The engine and the scenario's component, its pool sized from what the component
/// needs. The component is compiled (or read from the cache) on a probe engine first:
/// the pool's sizes are not part of the compiled code's compatibility, so the real
/// engine then loads the same code. A component that cannot run within the limits
/// (an initial memory over the cap among them: the probe's pool has the same cap) is
/// refused here, before any VU starts.
pub fn load_sized(
    settings: EngineSettings,
    path: &Path,
    bytes: &[u8],
    cache_dir: Option<&Path>,
    compiling: &mut dyn FnMut(),
) -> Result<(Engine, LoadedComponent)> {
    let reservation = memory_reservation(settings);
    // A quarter of the compile cache's cap: the interpreters of JS and Python (the
    // functions worth keeping) take tens of MiB each.
    let code_cache =
        cache_dir.map(|dir| Arc::new(CodeCache::new(dir.join(CODE_CACHE_FILE), cache_cap() / 4)));
    let probe = sized_engine(
        EngineSettings {
            max_instances: 1,
            ..settings
        },
        InstanceNeeds::MAX,
        reservation,
        code_cache.clone(),
    )?;
    let mut loaded = load_component_with(&probe, path, bytes, cache_dir, compiling)?;
    loaded.code_reuse = code_cache.and_then(|c| c.reuse());
    let needs = InstanceNeeds::of(&loaded.component).unwrap_or(InstanceNeeds::MAX);
    // This engine only loads the probe's compiled code: no code cache.
    let engine = sized_engine(settings, needs, reservation, None)?;
    // SAFETY: the file or the bytes were written by an engine of the same compilation
    // settings (only the pool's sizes differ, which compiled code does not depend on).
    // From the cache the code is mapped, not copied.
    // (A file another run evicted meanwhile falls back to the bytes in memory.)
    let from_file = loaded
        .cache_file
        .as_ref()
        .and_then(|file| unsafe { Component::deserialize_file(&engine, file) }.ok());
    let reloaded = match from_file {
        Some(component) => Ok(component),
        None => {
            let serialized = loaded
                .component
                .serialize()
                .map_err(|e| anyhow::anyhow!("scenario {}: {e}", path.display()))?;
            unsafe { Component::deserialize(&engine, &serialized) }
        }
    };
    let component = reloaded.map_err(|e| {
        anyhow::anyhow!(
            "scenario {}: cannot be instantiated within the pool's limits: {}",
            path.display(),
            first_line(&format!("{e:#}"))
        )
    })?;
    Ok((
        engine,
        LoadedComponent {
            component,
            ..loaded
        },
    ))
}

/// The bytes of "memory has a minimum byte size of N which exceeds the limit", if the
/// error is that one.
fn memory_minimum(error: &str) -> Option<u64> {
    let rest = error.split("memory has a minimum byte size of ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn mib_up(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
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
    /// The compiled code's file in the cache, when it is there.
    pub cache_file: Option<PathBuf>,
    /// When it was compiled with the code cache: how many functions came from it.
    pub code_reuse: Option<CodeReuse>,
}

/// Compiles `bytes` (read from `path`), or loads the cached compilation keyed by the
/// bytes' hash and the engine's settings.
pub fn load_component(
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> Result<LoadedComponent> {
    load_component_with(engine, path, bytes, cache_dir, &mut || {})
}

/// [`load_component`], calling `compiling` just before a compilation starts (not on a
/// cache hit): compiling a large component takes long enough to say so first.
pub fn load_component_with(
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    cache_dir: Option<&Path>,
    compiling: &mut dyn FnMut(),
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
            // Its use is what least-recently-used eviction goes by.
            touch(file);
            return Ok(LoadedComponent {
                component,
                sha256,
                cache_hit: true,
                cache_file: Some(file.clone()),
                code_reuse: None,
            });
        }
    }
    compiling();
    let component = Component::new(engine, bytes).map_err(|e| {
        let why = format!("{e:#}");
        // The pool's check of a memory's minimum against the cap (wasmtime names the
        // limit in hex bytes): said in MiB, with the flag that raises it.
        if let Some(min) = memory_minimum(&why) {
            return anyhow::anyhow!(
                "scenario {}: needs {} MiB of linear memory to start, over the per-VU memory cap; raise --max-memory-mib (max_memory_mib in [limits]) to at least {}",
                path.display(),
                mib_up(min),
                mib_up(min)
            );
        }
        anyhow::anyhow!(
            "scenario {}: not a valid WebAssembly component: {}",
            path.display(),
            first_line(&why)
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
            evict(
                file.parent().expect("cache file has a dir"),
                cache_cap(),
                file,
            );
        }
    }
    let cache_file = cache_file.filter(|f| f.exists());
    Ok(LoadedComponent {
        component,
        sha256,
        cache_hit: false,
        cache_file,
        code_reuse: None,
    })
}

/// The compile cache's size cap: `$STAMPEDE_CACHE_MAX_MIB`, else 1 GiB.
pub fn cache_cap() -> u64 {
    std::env::var("STAMPEDE_CACHE_MAX_MIB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_CACHE_CAP, |mib| mib << 20)
}

pub const DEFAULT_CACHE_CAP: u64 = 1 << 30;

/// Marks a cache entry as used now (its modification time is its last use).
fn touch(file: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(file) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Removes the least recently used compiled components until the cache holds at most
/// `cap` bytes; `keep` (the one just written) stays whatever its size.
pub fn evict(dir: &Path, cap: u64, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= cap {
            break;
        }
        if path != keep && std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_instances: u32) -> EngineSettings {
        EngineSettings {
            max_instances,
            memory_cap: 64 << 20,
            fuel: true,
            epoch: true,
        }
    }

    #[test]
    fn memories_reserve_4_gib_while_the_pool_fits_the_budget_and_their_cap_past_it() {
        assert_eq!(memory_reservation(settings(1)), FOUR_GIB);
        assert_eq!(memory_reservation(settings(4_000)), FOUR_GIB);
        assert_eq!(memory_reservation(settings(10_000)), 64 << 20);
        // Both engines of a large run (the probe and the pool) still build.
        for n in [1, 4_000, 10_000] {
            let s = settings(n);
            sized_engine(s, InstanceNeeds::MAX, memory_reservation(s), None).unwrap();
        }
    }
}
