//! What runs beside a run: the stops that can come from outside (Ctrl-C, another
//! scenario's abort), the epoch ticker that makes busy guests yield, and the process's
//! peak memory for the summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The process's peak resident memory (VmHWM), KiB; 0 where /proc is not there.
pub(super) fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| super::memory::kib_field(&s, "VmHWM:"))
        .unwrap_or(0)
}

/// Increments the engine's epoch every 10 ms while the run lasts (drives the guests'
/// cooperative yields).
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub(super) fn start(engine: wasmtime::Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("stampede-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Who cut running iterations off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The user (Ctrl-C twice): the run was interrupted.
    ByUser,
    /// The run itself (its memory budget, a scenario that could not start), which
    /// says why elsewhere.
    ByRun,
}

/// How a run can be stopped from outside (Ctrl-C, as k6 does): `graceful` ends the load
/// and lets running iterations finish within the graceful-stop time; `hard` cuts them
/// off at once. Either way the summary covers what was measured.
pub struct StopSignals {
    pub graceful: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    pub hard: std::pin::Pin<Box<dyn Future<Output = Cut> + Send>>,
    /// Another scenario of the run lost an abort_on_fail threshold: stop like it,
    /// with this reason.
    pub abort: std::pin::Pin<Box<dyn Future<Output = String> + Send>>,
}

impl StopSignals {
    pub fn none() -> Self {
        StopSignals {
            graceful: Box::pin(std::future::pending()),
            hard: Box::pin(std::future::pending()),
            abort: Box::pin(std::future::pending()),
        }
    }

    /// First Ctrl-C: graceful stop; second: hard stop.
    ///
    /// One listener, started at once and counting presses: a `ctrl_c()` future only
    /// hears the presses after it is first polled, so one per stage would miss the
    /// second press. Call from within the runtime.
    pub fn ctrl_c() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(0u32);
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                tx.send_modify(|n| *n += 1);
            }
        });
        let presses = |n: u32| {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|seen| *seen >= n).await;
            }
        };
        let second = presses(2);
        StopSignals {
            graceful: Box::pin(presses(1)),
            hard: Box::pin(async move {
                second.await;
                Cut::ByUser
            }),
            abort: Box::pin(std::future::pending()),
        }
    }
}
