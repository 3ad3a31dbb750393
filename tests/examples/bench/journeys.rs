//! The seed's journeys on the demo target, each in a process of its own.

use std::path::Path;

use crate::harness::*;

/// (plugin, language, component, extra `--env`) of one journey in the benchmark.
pub(crate) type Journey = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

pub(crate) const JOURNEYS: &[Journey] = &[
    ("smoke", "rust", stampede_tests::SMOKE_WASM, &[]),
    ("checkout", "rust", stampede_tests::CHECKOUT_WASM, &[]),
    ("checkout", "js", stampede_tests::CHECKOUT_JS_WASM, &[]),
    (
        "token-refresh",
        "rust",
        stampede_tests::TOKEN_REFRESH_WASM,
        &[("REFRESH_AFTER_S", "1")],
    ),
    (
        "token-refresh",
        "js",
        stampede_tests::TOKEN_REFRESH_JS_WASM,
        &[("REFRESH_AFTER_S", "1")],
    ),
    (
        "file-upload",
        "rust",
        stampede_tests::FILE_UPLOAD_WASM,
        &[("ROWS", "100"), ("POLL_MS", "20")],
    ),
    (
        "file-upload",
        "go",
        stampede_tests::FILE_UPLOAD_GO_WASM,
        &[("ROWS", "100"), ("POLL_MS", "20")],
    ),
];
pub(crate) const JOURNEY_VUS: u32 = 100;

/// Each journey in a child process of its own (so its memory is its own), against one
/// demo target in another; prints a table and JS/Rust ratios.
pub(crate) fn journeys() {
    let (mut demo, addr) = start_child("--serve-demo");
    println!(
        "journeys on the demo target, {JOURNEY_VUS} VUs, no think time, each in its own process:"
    );
    println!(
        "  {:<14} {:<5} {:>12} {:>10} {:>9} {:>10}",
        "plugin", "lang", "CPU-µs/req", "KiB/VU", "req/s", "failed"
    );
    let mut rust = std::collections::HashMap::new();
    for (i, (plugin, lang, _, _)) in JOURNEYS.iter().enumerate() {
        let (line, f) = child_figures("journey", "BENCH_JOURNEY", i, &addr);
        let [cpu, kib, rps, failed] = f[..] else {
            println!("  {plugin:<14} {lang:<5} failed to run: {line}");
            continue;
        };
        let vs = if *lang == "rust" {
            rust.insert(*plugin, (cpu, kib));
            String::new()
        } else {
            rust.get(plugin)
                .map(|(c, k)| {
                    format!(
                        "  ({:.2}x Rust's CPU per request, {:.1}x its KiB per VU)",
                        cpu / c,
                        kib / k.max(1.0)
                    )
                })
                .unwrap_or_default()
        };
        println!("  {plugin:<14} {lang:<5} {cpu:>12.1} {kib:>10.0} {rps:>9.0} {failed:>10}{vs}");
    }
    let _ = demo.kill();
}

/// One journey (`BENCH_JOURNEY`), run against `BENCH_ADDR`: prints CPU-µs per request,
/// RssAnon KiB per VU mid-run (above the process after a warm-up VU), req/s, failures.
pub(crate) fn journey_child(rt: &tokio::runtime::Runtime, cache: &Path, secs: u64) {
    let i: usize = std::env::var("BENCH_JOURNEY").unwrap().parse().unwrap();
    let addr = std::env::var("BENCH_ADDR").unwrap();
    let (_, _, wasm, extra) = JOURNEYS[i];
    let m = measure_load(rt, cache, wasm, extra, &addr, JOURNEY_VUS, secs);
    println!(
        "{:.1} {:.1} {:.0} {}",
        m.cpu_us, m.kib_per_vu, m.rps, m.failed
    );
}
