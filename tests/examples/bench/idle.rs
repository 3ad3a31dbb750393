//! Resident memory per idle VU.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// Resident memory per idle VU: 10,000 VUs each run `task` once, then wait.
pub(crate) fn idle_memory(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path, task: &str) {
    // BENCH_IDLE_VUS: fewer, e.g. under a heap profiler.
    let vus: u32 = std::env::var("BENCH_IDLE_VUS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let cfg = config(
        addr,
        vus,
        Load::duration(Duration::from_secs(6)),
        &[("TASKS", task), ("WAIT_MS", "60000")],
        cache,
    );
    let base = rss_anon_kib();
    let peak = Arc::new(AtomicU64::new(0));
    let p = peak.clone();
    let sampler = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(5));
        p.store(rss_anon_kib(), Ordering::SeqCst);
        if std::env::var_os("BENCH_SMAPS").is_some() {
            // The largest mappings by resident size, to see where idle VUs' memory is.
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
            let mut maps: Vec<(u64, String)> = Vec::new();
            let mut head = String::new();
            for l in smaps.lines() {
                if l.contains('-') && !l.starts_with(|c: char| c.is_ascii_uppercase()) {
                    head = l.chars().take(90).collect();
                } else if let Some(v) = l.strip_prefix("Rss:") {
                    let kb: u64 = v.trim().trim_end_matches(" kB").parse().unwrap_or(0);
                    maps.push((kb, head.clone()));
                }
            }
            maps.sort_by_key(|m| std::cmp::Reverse(m.0));
            for (kb, h) in maps.iter().take(8) {
                println!("  {kb:>8} kB  {h}");
            }
        }
    });
    let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
    sampler.join().unwrap();
    let idle = peak.load(Ordering::SeqCst);
    println!(
        "{vus} idle VUs ({task} once each): RssAnon {} MiB above baseline = {:.1} KiB per VU ({} requests; budget <= 64 KiB)",
        idle.saturating_sub(base) / 1024,
        idle.saturating_sub(base) as f64 / vus as f64,
        s.totals.http_reqs
    );
}
