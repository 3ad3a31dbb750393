//! The run's memory budget (`--max-total-memory`): the plan's worst case is checked
//! before any load starts, and a watchdog stops the run before the host outgrows the
//! budget, so a runner's OOM killer never ends a run with nothing written.

use std::time::Duration;

use anyhow::{Result, bail};

use super::RunConfig;

/// What the host itself holds per VU, besides its guest's linear memory: the store and
/// instance, the fiber stack, the client and its buffers (measured idle at about a
/// quarter of this; the rest is room for requests in flight).
pub const HOST_PER_VU: u64 = 512 << 10;
/// What the host holds per scenario before any VU: the engine, the compiled component,
/// the metrics.
pub const HOST_PER_SCENARIO: u64 = 64 << 20;
/// The share of the machine's (or the cgroup's) memory a run takes by default.
pub const DEFAULT_SHARE_PERCENT: u64 = 80;
/// The watchdog stops the load at this share of the budget, and cuts running
/// iterations off at the budget itself.
const STOP_AT_PERCENT: u64 = 95;
/// How often the watchdog looks: VUs reading large bodies can add hundreds of MiB a
/// second between two looks (a look costs a few microseconds).
const SAMPLE_EVERY: Duration = Duration::from_millis(5);
/// The smallest memory cap a VU is given to fit a budget.
const MIN_FITTED_CAP: u64 = 1 << 20;

/// The default memory cap of a JavaScript VU. SpiderMonkey (inside ComponentizeJS)
/// runs a full collection only once its heap has grown by tens of MiB, and a component
/// cannot tune that: a VU iterating without pause settles at 64-87 MiB of linear
/// memory (measured: an empty iteration, a GET of 2 KB, the k6 checkout journey, POSTs
/// of 256 KiB), where 64 MiB made such runs fail iterations every few seconds.
pub const JAVASCRIPT_MEMORY_CAP: usize = 128 << 20;

/// Gives each scenario whose cap was not chosen the default of its guest's language
/// (read from the component's producers section), with a note for each one changed.
/// A scenario whose file cannot be read is left for the run to report.
pub fn language_defaults(cfgs: &mut [RunConfig]) -> Vec<String> {
    let mut notes = Vec::new();
    for c in cfgs.iter_mut().filter(|c| !c.memory_cap_chosen) {
        if c.scenario_bytes.is_none() {
            let Ok(bytes) = std::fs::read(&c.scenario) else {
                continue;
            };
            c.scenario_bytes = Some(bytes.into());
        }
        let Some(bytes) = &c.scenario_bytes else {
            continue;
        };
        let js = crate::engine::producers::languages(bytes)
            .iter()
            .any(|l| l == "JavaScript");
        if js && c.limits.memory_cap < JAVASCRIPT_MEMORY_CAP {
            c.limits.memory_cap = JAVASCRIPT_MEMORY_CAP;
            let whose = c
                .name
                .as_deref()
                .map(|n| format!("scenario {n}: "))
                .unwrap_or_default();
            notes.push(format!(
                "{whose}memory cap {} per VU: a JavaScript VU's heap grows by tens of MiB between collections; --max-memory-mib sets it",
                mib(JAVASCRIPT_MEMORY_CAP as u64)
            ));
        }
    }
    notes
}

/// A run's memory budget, and where it comes from (for messages).
#[derive(Debug, Clone)]
pub struct Budget {
    pub bytes: u64,
    pub source: String,
}

impl Budget {
    /// `--max-total-memory`'s value if given, otherwise the default share of what this
    /// machine (or its cgroup) has; `None` where neither can be read.
    pub fn of(chosen: Option<u64>) -> Option<Budget> {
        if let Some(bytes) = chosen {
            return Some(Budget {
                bytes,
                source: "--max-total-memory".into(),
            });
        }
        let (total, what) = machine_memory()?;
        Some(Budget {
            bytes: total / 100 * DEFAULT_SHARE_PERCENT,
            source: format!(
                "{DEFAULT_SHARE_PERCENT}% of {what}'s {}; --max-total-memory",
                mib(total)
            ),
        })
    }
}

/// Checks the plans against `budget`, with `base` bytes already in use. A scenario
/// whose per-VU memory cap was not chosen gets a smaller one when the default would
/// not fit (said in the returned notes); a chosen cap that does not fit refuses the run
/// with one line naming the figures and the flags to change.
pub fn fit(cfgs: &mut [RunConfig], budget: &Budget, base: u64) -> Result<Vec<String>> {
    let peak = |c: &RunConfig| u64::from(c.plan.vus.max(c.plan.max_vus));
    let fixed: u64 = base
        + cfgs
            .iter()
            .map(|c| {
                let cap = if c.memory_cap_chosen {
                    c.limits.memory_cap as u64
                } else {
                    0
                };
                HOST_PER_SCENARIO + peak(c) * (cap + HOST_PER_VU)
            })
            .sum::<u64>();
    let open_vus: u64 = cfgs.iter().filter(|c| !c.memory_cap_chosen).map(peak).sum();
    let worst = fixed
        + cfgs
            .iter()
            .filter(|c| !c.memory_cap_chosen)
            .map(|c| peak(c) * c.limits.memory_cap as u64)
            .sum::<u64>();
    if worst <= budget.bytes {
        return Ok(Vec::new());
    }
    let vus: u64 = cfgs.iter().map(peak).sum();
    let refuse = |why: &str| -> Result<Vec<String>> {
        bail!(
            "memory: {vus} VUs at their memory caps would need {} (each VU's --max-memory-mib plus {} KiB of the host's, {} per scenario, {} in use), over the budget of {} ({}){why}; lower --max-memory-mib or the VUs, or raise --max-total-memory",
            mib(worst),
            HOST_PER_VU >> 10,
            mib(HOST_PER_SCENARIO),
            mib(base),
            mib(budget.bytes),
            budget.source,
        )
    };
    if open_vus == 0 || fixed >= budget.bytes {
        return refuse("");
    }
    // The default caps shrink to share what is left.
    let cap = ((budget.bytes - fixed) / open_vus) >> 20 << 20;
    if cap < MIN_FITTED_CAP {
        return refuse(" even with 1 MiB per VU");
    }
    let mut notes = Vec::new();
    for c in cfgs.iter_mut().filter(|c| !c.memory_cap_chosen) {
        if (c.limits.memory_cap as u64) > cap {
            notes.push(format!(
                "memory cap {} per VU (the default {} for {} VUs would not fit the budget of {}: {}); --max-memory-mib sets it",
                mib(cap),
                mib(c.limits.memory_cap as u64),
                peak(c),
                mib(budget.bytes),
                budget.source
            ));
            c.limits.memory_cap = cap as usize;
        }
    }
    Ok(notes)
}

/// Watches the process's resident memory against a budget.
pub struct Watchdog {
    pub budget: Budget,
}

impl Watchdog {
    /// Resolves once resident memory reaches `percent` of the budget, with the reason
    /// the run stops; never, where resident memory cannot be read.
    pub async fn reached(&self, percent: u64) -> String {
        let limit = self.budget.bytes / 100 * percent;
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let Some(rss) = resident_bytes() else {
                return std::future::pending().await;
            };
            if rss >= limit {
                return format!(
                    "host memory reached {} of the {} budget ({}): the run was stopped before the machine ran out",
                    mib(rss),
                    mib(self.budget.bytes),
                    self.budget.source
                );
            }
        }
    }

    /// [`Self::reached`] at the share where the load stops.
    pub async fn stop(&self) -> String {
        self.reached(STOP_AT_PERCENT).await
    }

    /// [`Self::reached`] at the budget itself, where running iterations are cut off.
    pub async fn cut(&self) -> String {
        self.reached(100).await
    }
}

/// The process's resident memory of its own, from /proc: resident pages less those
/// backed by a file or shared memory. Every instance maps the component's memory image;
/// RSS counts an image page once per instance that touched it, though it is one page of
/// the page cache (a thousand Python VUs read as 9 GiB resident and hold 2 GiB). What an
/// instance writes is copied into its own anonymous pages, and counted here.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = statm.split_whitespace().skip(1);
    let resident: u64 = fields.next()?.parse().ok()?;
    let shared: u64 = fields.next()?.parse().ok()?;
    Some(resident.saturating_sub(shared) * rustix::param::page_size() as u64)
}

/// A `Key:  N kB` field of a /proc file, in KiB.
pub(super) fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The machine's memory, or its cgroup's limit when lower, and which it is.
fn machine_memory() -> Option<(u64, &'static str)> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| kib_field(&m, "MemTotal:"))
        .map(|k| k << 10);
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) if c < t => Some((c, "this cgroup")),
        (Some(t), _) => Some((t, "this machine")),
        (None, Some(c)) => Some((c, "this cgroup")),
        (None, None) => None,
    }
}

fn mib(bytes: u64) -> String {
    if bytes >= 10 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{Load, Plan};

    fn cfg(vus: u32, cap_mib: usize, chosen: bool) -> RunConfig {
        let mut c = RunConfig::new("s.wasm".into(), Plan::new(vus, Load::iterations(1)));
        c.limits.memory_cap = cap_mib << 20;
        c.memory_cap_chosen = chosen;
        c
    }

    fn budget(mib: u64) -> Budget {
        Budget {
            bytes: mib << 20,
            source: "--max-total-memory".into(),
        }
    }

    #[test]
    fn a_plan_within_the_budget_is_left_as_it_is() {
        let mut cfgs = [cfg(10, 64, false), cfg(5, 16, true)];
        let notes = fit(&mut cfgs, &budget(2048), 100 << 20).unwrap();
        assert!(notes.is_empty());
        assert_eq!(cfgs[0].limits.memory_cap, 64 << 20);
    }

    #[test]
    fn default_caps_shrink_to_fit_and_say_so() {
        // 1000 VUs at the default 64 MiB want 64 GiB; 8 GiB are there.
        let mut cfgs = [cfg(1000, 64, false), cfg(10, 32, true)];
        let notes = fit(&mut cfgs, &budget(8192), 100 << 20).unwrap();
        let cap = cfgs[0].limits.memory_cap as u64;
        assert!(
            (6 << 20..8 << 20).contains(&cap) && cap.is_multiple_of(1 << 20),
            "{cap}"
        );
        // The chosen cap stays; the whole now fits.
        assert_eq!(cfgs[1].limits.memory_cap, 32 << 20);
        let worst = (100 << 20)
            + 2 * HOST_PER_SCENARIO
            + 1000 * (cap + HOST_PER_VU)
            + 10 * ((32 << 20) + HOST_PER_VU);
        assert!(worst <= 8192 << 20);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("--max-memory-mib"), "{}", notes[0]);
    }

    #[test]
    fn chosen_caps_over_the_budget_refuse_the_run_naming_the_flags() {
        let mut cfgs = [cfg(5000, 512, true)];
        let e = fit(&mut cfgs, &budget(4096), 0).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        for want in [
            "5000 VUs",
            "4096 MiB",
            "--max-memory-mib",
            "--max-total-memory",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
        // Too many VUs for even a small default cap: refused too.
        let mut cfgs = [cfg(100_000, 64, false)];
        let e = fit(&mut cfgs, &budget(4096), 0).unwrap_err().to_string();
        assert!(e.contains("over the budget"), "{e}");
    }

    #[test]
    fn the_machine_and_this_process_are_measured() {
        let b = Budget::of(None).expect("linux has /proc/meminfo");
        assert!(b.bytes > 64 << 20 && b.source.contains("80%"), "{b:?}");
        // Memory written is counted (its pages are this process's own); other tests
        // allocate and free beside this one, so only what this one holds is certain.
        let held = std::hint::black_box(vec![1u8; 16 << 20]);
        assert!(resident_bytes().unwrap() >= 16 << 20);
        drop(held);
        assert_eq!(Budget::of(Some(5 << 20)).unwrap().bytes, 5 << 20);
    }

    #[tokio::test]
    async fn the_watchdog_fires_once_resident_memory_reaches_its_share() {
        let held = std::hint::black_box(vec![1u8; 16 << 20]);
        let rss = resident_bytes().unwrap();
        // A budget this process is already past: the reason names both figures.
        let w = Watchdog {
            budget: budget((rss >> 20) / 2 + 1),
        };
        let why = tokio::time::timeout(Duration::from_secs(5), w.stop())
            .await
            .unwrap();
        assert!(
            why.starts_with("host memory reached") && why.contains("--max-total-memory"),
            "{why}"
        );
        // One it is far from: it keeps watching.
        let w = Watchdog {
            budget: budget(1 << 20),
        };
        assert!(
            tokio::time::timeout(Duration::from_millis(100), w.cut())
                .await
                .is_err()
        );
        drop(held);
    }
}
