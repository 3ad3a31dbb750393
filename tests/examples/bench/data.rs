//! Test data shared, not copied: 10,000 VUs each take their own row of a 50 MB CSV file
//! through a feeder, against the same VUs with no data; the difference is what the
//! file costs the host (parsed once), set beside what a copy per VU would take.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use stampede::data::{DataDir, DataSet};
use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use crate::harness::*;

const FILE_BYTES: u64 = 50_000_000;

/// A users.csv of about 50 MB: a million users with an email and a password each.
fn write_file(dir: &Path) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("users.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "user,email,password").unwrap();
    let (mut i, mut written) = (0u64, 0u64);
    while written < FILE_BYTES {
        let line = format!(
            "user{i:07},user{i:07}@example.com,pw-{i:07}-{:08x}\n",
            i * 2654435761 % (1 << 32)
        );
        w.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        i += 1;
    }
    w.flush().unwrap();
    std::fs::metadata(&path).unwrap().len()
}

/// RssAnon at 5 s into a run of `vus` VUs that each ran `task` once and wait.
fn resident(
    rt: &tokio::runtime::Runtime,
    addr: &str,
    cache: &Path,
    vus: u32,
    task: &str,
    data: Option<Arc<DataSet>>,
) -> (u64, stampede::metrics::Summary) {
    let mut cfg = config(
        addr,
        vus,
        Load::duration(Duration::from_secs(6)),
        &[
            ("TASKS", task),
            ("WAIT_MS", "60000"),
            ("DATA_ORDER", "unique"),
            ("DATA_QUIET", "1"),
        ],
        cache,
    );
    cfg.data = data;
    let peak = Arc::new(AtomicU64::new(0));
    let p = peak.clone();
    let sampler = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(5));
        p.store(rss_anon_kib(), Ordering::SeqCst);
    });
    let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
    sampler.join().unwrap();
    (peak.load(Ordering::SeqCst), s)
}

pub(crate) fn shared_data(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path) {
    let vus: u32 = std::env::var("BENCH_IDLE_VUS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join("stampede-bench-data");
    let bytes = write_file(&dir);
    let (without, _) = resident(rt, addr, cache, vus, "noop", None);
    let set = Arc::new(DataSet::new(
        DataDir::open(&dir, 256 << 20, "--data").unwrap(),
        None,
    ));
    let (with, s) = resident(rt, addr, cache, vus, "feed", Some(set.clone()));
    let rows = s
        .checks
        .iter()
        .find(|c| c.name == "row")
        .map(|c| c.passes)
        .unwrap_or(0);
    assert_eq!(rows, vus as u64, "every VU took its row: {:?}", s.errors);
    let table = set.table("users.csv").unwrap();
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{vus} VUs, each with its own row of a {:.1} MB file ({} rows): RssAnon {:.1} MiB above the same VUs without data (the parsed rows: {:.1} MiB, one copy); a copy per VU would be {:.0} GB",
        bytes as f64 / 1e6,
        table.rows(),
        mib(with.saturating_sub(without)),
        table.heap_bytes() as f64 / (1 << 20) as f64,
        bytes as f64 * vus as f64 / 1e9
    );
}
