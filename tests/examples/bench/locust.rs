//! `BENCH_ONLY=locust`: the seed's `checkout.py` run by `stampede run` and by Locust
//! itself (from PyPI, installed here as a reference), `HttpUser` and `FastHttpUser`,
//! against the demo target in a process of its own: CPU per request with no think time,
//! memory per user at 1,000 users with `between(1, 2)`, and the first-build and cached
//! start times of `stampede run checkout.py`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{children_cpu, start_child};
use crate::tools::{quiet, root, rss_pss_kib, stampede_bin};
use stampede_tests::pypi_tool;

const LOCUST: &str = "2.47.0";

/// The seed's checkout.py with its wait time replaced, and as a FastHttpUser.
fn variant(dir: &Path, name: &str, wait: &str, fast: bool) -> PathBuf {
    let seed = std::fs::read_to_string(root().join("tests/locust/seed/checkout.py")).unwrap();
    let mut s = seed.replace("wait_time = between(2, 5)", &format!("wait_time = {wait}"));
    s = s.replace(
        "from locust import HttpUser, task, between",
        "from locust import HttpUser, FastHttpUser, task, between, constant",
    );
    if fast {
        // FastHttpSession has no `headers`: its way to send the token on every request.
        s = s.replace(
            "class CheckoutUser(HttpUser):",
            "class CheckoutUser(FastHttpUser):",
        );
        let (from, to) = (
            s.find("self.client.headers.update({").unwrap(),
            s.find("response.success()\n\n    def create_cart").unwrap(),
        );
        s.replace_range(
            from..to,
            "self.client.auth_header = f\"Bearer {self.access_token}\"\n            ",
        );
    }
    assert_ne!(s, seed);
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let path = d.join("checkout.py");
    std::fs::write(&path, s).unwrap();
    path
}

struct Tool {
    name: &'static str,
    script: PathBuf,
    locust: bool,
}

impl Tool {
    fn command(&self, locust: &Path, target: &str, users: u32, secs: u64, out: &Path) -> Command {
        let (u, t) = (users.to_string(), format!("{secs}s"));
        if self.locust {
            let mut c = Command::new(locust);
            c.arg("-f").arg(&self.script);
            c.args([
                "--headless",
                "-u",
                &u,
                "-r",
                "1000",
                "-t",
                &t,
                "--only-summary",
            ]);
            c.args(["--host", target, "--csv"]).arg(out);
            c.current_dir(out.parent().unwrap());
            c
        } else {
            let mut c = Command::new(stampede_bin());
            c.env("STAMPEDE_CACHE_DIR", out.parent().unwrap().join("cache"));
            c.arg("run").arg(&self.script);
            c.args(["--target", target, "-u", &u, "-r", "1000", "-t", &t, "-q"]);
            c.args(["--allow-failures", "--summary-json"])
                .arg(out.with_extension("json"));
            c
        }
    }

    /// Requests the run made, from its summary or Locust's CSV.
    fn requests(&self, out: &Path) -> u64 {
        if self.locust {
            let csv = std::fs::read_to_string(format!("{}_stats.csv", out.display())).unwrap();
            let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
            let col = head.iter().position(|h| *h == "Request Count").unwrap();
            csv.lines()
                .find(|l| l.contains(",Aggregated,"))
                .and_then(|l| l.split(',').nth(col))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        } else {
            let text = std::fs::read_to_string(out.with_extension("json")).unwrap();
            let s = stampede_tests::summary_from_json(&text).unwrap();
            s.totals.http_reqs
        }
    }
}

/// CPU-µs per request of `tool` with `users` and no think time.
fn cpu_per_request(tool: &Tool, locust: &Path, target: &str, dir: &Path, secs: u64) -> (f64, u64) {
    let out = dir.join(format!("cpu-{}", tool.name.replace(' ', "-")));
    let before = children_cpu();
    let child = quiet(&mut tool.command(locust, target, 10, secs, &out));
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "{}: {}",
        tool.name,
        String::from_utf8_lossy(&o.stderr)
    );
    let cpu = children_cpu() - before;
    let n = tool.requests(&out);
    (cpu.as_micros() as f64 / n.max(1) as f64, n)
}

/// Resident and proportional KiB of `tool` with `users` and `between(1, 2)`, sampled
/// once they are all up.
fn rss_with(tool: &Tool, locust: &Path, target: &str, dir: &Path, users: u32) -> (u64, u64) {
    let out = dir.join(format!("mem-{}-{users}", tool.name.replace(' ', "-")));
    let mut child = quiet(&mut tool.command(locust, target, users, 25, &out));
    // Locust spawns 1,000 users at once (-r 1000); Stampede starts them in the first
    // second. Well after both, the resident size is the users' steady state.
    std::thread::sleep(Duration::from_secs(18));
    let kib = rss_pss_kib(child.id());
    let _ = child.wait();
    kib
}

pub(crate) fn locust_figures() {
    let dir = std::env::temp_dir().join("stampede-bench-locust");
    std::fs::create_dir_all(&dir).unwrap();
    let locust = pypi_tool(&dir, "locust", LOCUST, "locust");
    let (mut demo, addr) = start_child("--serve-demo");
    let target = format!("http://{addr}");
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);

    // Build times: a fresh cache (provisioning the toolchain), a new script with the
    // toolchain there, and a cached start.
    let cache = dir.join("cache");
    let _ = std::fs::remove_dir_all(&cache);
    let plain = variant(&dir, "plain", "between(2, 5)", false);
    let timed = |script: &Path| {
        let t = Instant::now();
        let o = Command::new(stampede_bin())
            .arg("run")
            .arg(script)
            .args(["--target", &target, "--iterations", "1", "-q"])
            .env("STAMPEDE_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        t.elapsed().as_secs_f64()
    };
    let fresh = timed(&plain);
    let cached = timed(&plain);
    let edited = dir.join("edited/checkout.py");
    std::fs::create_dir_all(edited.parent().unwrap()).unwrap();
    std::fs::write(
        &edited,
        std::fs::read_to_string(&plain).unwrap() + "\n# edited\n",
    )
    .unwrap();
    let rebuilt = timed(&edited);
    println!("stampede run checkout.py (the seed's, 1 iteration, wall time):");
    println!(
        "  first run on a fresh cache (provisions componentize-py, builds, compiles): {fresh:.1} s"
    );
    println!(
        "  after an edit (builds and compiles again):                                 {rebuilt:.1} s"
    );
    println!(
        "  cached (nothing changed):                                                  {cached:.2} s"
    );

    let tools = [
        Tool {
            name: "stampede",
            script: variant(&dir, "s0", "constant(0)", false),
            locust: false,
        },
        Tool {
            name: "locust HttpUser",
            script: variant(&dir, "l0", "constant(0)", false),
            locust: true,
        },
        Tool {
            name: "locust FastHttpUser",
            script: variant(&dir, "f0", "constant(0)", true),
            locust: true,
        },
    ];
    // Built (and compiled) before anything is timed.
    timed(&tools[0].script);
    println!("checkout.py with no think time, 10 users, {secs} s, demo target in its own process:");
    let mut cpu = Vec::new();
    for tool in &tools {
        let (us, n) = cpu_per_request(tool, &locust, &target, &dir, secs);
        println!(
            "  {:<20} {:>8.0} CPU-µs per request ({n} requests)",
            tool.name, us
        );
        cpu.push(us);
    }
    println!(
        "  Locust HttpUser / stampede: {:.2}x; FastHttpUser / stampede: {:.2}x (target: at least 3x)",
        cpu[1] / cpu[0],
        cpu[2] / cpu[0]
    );

    let mem = [
        Tool {
            name: "stampede",
            script: variant(&dir, "s1", "between(1, 2)", false),
            locust: false,
        },
        Tool {
            name: "locust HttpUser",
            script: variant(&dir, "l1", "between(1, 2)", false),
            locust: true,
        },
        Tool {
            name: "locust FastHttpUser",
            script: variant(&dir, "f1", "between(1, 2)", true),
            locust: true,
        },
    ];
    timed(&mem[0].script);
    println!(
        "checkout.py with between(1, 2): memory per user, (at 1,000 users - at 10) / 990, RSS and PSS:"
    );
    for tool in &mem {
        let small = rss_with(tool, &locust, &target, &dir, 10);
        let big = rss_with(tool, &locust, &target, &dir, 1000);
        let per = |a: u64, b: u64| b.saturating_sub(a) as f64 / 990.0;
        println!(
            "  {:<20} RSS {:>6.0} KiB, PSS {:>6.0} KiB per user (RSS {} MiB at 10, {} MiB at 1,000; PSS {} MiB, {} MiB){}",
            tool.name,
            per(small.0, big.0),
            per(small.1, big.1),
            small.0 >> 10,
            big.0 >> 10,
            small.1 >> 10,
            big.1 >> 10,
            if tool.locust {
                ""
            } else {
                " (target: at most 1,024)"
            }
        );
    }
    let _ = demo.kill();
}
