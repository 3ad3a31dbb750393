//! The smoke journey in each guest language: size, compile, instantiation, memory, CPU.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::*;

/// The smoke journey in each language.
pub(crate) const SMOKES: &[(&str, &str)] = &[
    ("rust", stampede_tests::SMOKE_WASM),
    ("js", stampede_tests::SMOKE_JS_WASM),
    ("go", stampede_tests::SMOKE_GO_WASM),
    ("python", stampede_tests::SMOKE_PY_WASM),
];
pub(crate) const LANGUAGE_VUS: u32 = 50;

/// The same smoke journey in each language, each in a process of its own: component
/// size, compile time (cold, then from the cache), instantiation, resident KiB per VU
/// and CPU-µs per request at 50 VUs; ratios against Rust.
pub(crate) fn languages() {
    let (mut demo, addr) = start_child("--serve-demo");
    println!(
        "smoke in each language, demo target, {LANGUAGE_VUS} VUs with no think time, each in its own process:"
    );
    println!(
        "  {:<7} {:>8} {:>11} {:>10} {:>12} {:>8} {:>11} {:>8} {:>7}",
        "lang",
        "size MB",
        "compile ms",
        "cached ms",
        "instantiate",
        "KiB/VU",
        "CPU-µs/req",
        "req/s",
        "failed"
    );
    let mut rust: Option<Vec<f64>> = None;
    for (i, (lang, _)) in SMOKES.iter().enumerate() {
        let (line, f) = child_figures("language", "BENCH_LANG", i, &addr);
        let [size, cold, cached, inst, kib, cpu, rps, failed] = f[..] else {
            println!("  {lang:<7} failed to run: {line}");
            continue;
        };
        println!(
            "  {lang:<7} {size:>8.2} {cold:>11.0} {cached:>10.1} {inst:>9.0} µs {kib:>8.0} {cpu:>11.1} {rps:>8.0} {failed:>7}"
        );
        match &rust {
            None => rust = Some(f.clone()),
            Some(r) => println!(
                "          vs rust: instantiate {:.1}x, KiB/VU {:.1}x, CPU-µs/req {:.2}x",
                inst / r[3],
                kib / r[4].max(1.0),
                cpu / r[5]
            ),
        }
    }
    let _ = demo.kill();
}

/// State of the bare instantiation measurement: WASI only (the stampede imports trap if
/// called; instantiation does not call them).
pub(crate) struct Bare {
    wasi: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
}

impl wasmtime_wasi::WasiView for Bare {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One language (`BENCH_LANG`): prints size MB, cold compile ms, cached load ms,
/// instantiate µs, KiB/VU, CPU-µs/req, req/s, failures.
pub(crate) fn language_child(rt: &tokio::runtime::Runtime, secs: u64) {
    let i: usize = std::env::var("BENCH_LANG").unwrap().parse().unwrap();
    let addr = std::env::var("BENCH_ADDR").unwrap();
    let wasm = SMOKES[i].1;
    let bytes = std::fs::read(wasm).unwrap();
    let engine = stampede::engine::engine(stampede::engine::EngineSettings {
        max_instances: 64,
        memory_cap: 256 << 20,
        fuel: true,
        epoch: true,
    })
    .unwrap();
    let cache = std::env::temp_dir().join(format!("stampede-bench-lang-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let path = Path::new(wasm);
    let t0 = Instant::now();
    let cold = stampede::engine::load_component(&engine, path, &bytes, Some(&cache)).unwrap();
    let cold_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert!(!cold.cache_hit);
    let t0 = Instant::now();
    let cached = stampede::engine::load_component(&engine, path, &bytes, Some(&cache)).unwrap();
    let cached_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert!(cached.cache_hit);
    eprintln!("compiled in {cold_ms:.0} ms, loaded from the cache in {cached_ms:.1} ms");

    let mut linker = wasmtime::component::Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    // The stampede imports as functions that fail if called (instantiation calls none).
    // Not define_unknown_imports_as_traps: it shadows WASI 0.2.x interfaces that the
    // linker provides under another patch version.
    use wasmtime::component::types::ComponentItem;
    let ty = cached.component.component_type();
    for (name, import) in ty.imports(&engine) {
        let ComponentItem::ComponentInstance(inst) = import.ty else {
            continue;
        };
        if !name.starts_with("stampede:") {
            continue;
        }
        let mut li = linker.instance(name).unwrap();
        for (fname, export) in inst.exports(&engine) {
            if let ComponentItem::ComponentFunc(_) = export.ty {
                li.func_new(fname, |_, _, _, _| {
                    Err(wasmtime::Error::msg("not available in this benchmark"))
                })
                .unwrap();
            }
        }
    }
    let pre = linker.instantiate_pre(&cached.component).unwrap();
    let instantiate = || async {
        let mut store = wasmtime::Store::new(
            &engine,
            Bare {
                wasi: wasmtime_wasi::WasiCtx::builder().build(),
                table: wasmtime::component::ResourceTable::new(),
            },
        );
        store.set_fuel(u64::MAX).unwrap();
        store.set_epoch_deadline(1);
        let t0 = Instant::now();
        pre.instantiate_async(&mut store).await.unwrap();
        t0.elapsed()
    };
    let n = 40;
    let inst_us = rt.block_on(async {
        for _ in 0..5 {
            instantiate().await;
        }
        let mut total = Duration::ZERO;
        for _ in 0..n {
            total += instantiate().await;
        }
        total.as_secs_f64() * 1e6 / n as f64
    });
    drop(pre);
    eprintln!("instantiated in {inst_us:.0} µs");
    let m = measure_load(rt, &cache, wasm, &[], &addr, LANGUAGE_VUS, secs);
    let _ = std::fs::remove_dir_all(&cache);
    println!(
        "{:.2} {cold_ms:.0} {cached_ms:.1} {inst_us:.0} {:.1} {:.1} {:.0} {}",
        bytes.len() as f64 / 1e6,
        m.kib_per_vu,
        m.cpu_us,
        m.rps,
        m.failed
    );
}
