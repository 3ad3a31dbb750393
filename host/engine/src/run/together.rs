//! Scenarios that run together share one time zero, taken when every one of them is
//! ready to start its VUs (its component compiled, its VUs makeable). A scenario's start
//! time then counts from when all of the load could begin: a neighbour's slow first
//! compile cannot eat into a later scenario's offset and start it late unseen.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::watch;

struct State {
    /// Scenarios not yet ready (or failed: a failed one stops holding the others).
    left: AtomicUsize,
    /// One failed to prepare: the run will not run, so none starts its load.
    failed: AtomicBool,
    zero: watch::Sender<Option<Instant>>,
    /// A time zero fixed by the caller (`--start-at`): kept, however late the scenarios
    /// are ready, so segments on several machines stay aligned.
    fixed: Option<Instant>,
}

/// Why a scenario did not start: another one of its run could not be prepared (that
/// one's error is the run's).
#[derive(Debug)]
pub struct NotStarted;

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not started: another scenario of the run could not be prepared")
    }
}

impl std::error::Error for NotStarted {}

/// One scenario's place in a start together: [`ready`](Arrival::ready) once it is
/// prepared. Dropped before that (its preparation failed), it no longer holds the others,
/// and none of them starts.
pub struct Arrival {
    state: Arc<State>,
    arrived: bool,
}

impl std::fmt::Debug for Arrival {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Arrival")
    }
}

/// `n` arrivals sharing a time zero: `fixed`, or the moment the last is ready.
pub fn start_together(n: usize, fixed: Option<Instant>) -> Vec<Arrival> {
    let state = Arc::new(State {
        left: AtomicUsize::new(n),
        failed: AtomicBool::new(false),
        zero: watch::Sender::new(None),
        fixed,
    });
    (0..n)
        .map(|_| Arrival {
            state: state.clone(),
            arrived: false,
        })
        .collect()
}

impl Arrival {
    /// Waits for the others; returns the shared time zero, or `None` when another
    /// scenario could not be prepared.
    pub async fn ready(mut self) -> Option<Instant> {
        let mut rx = self.state.zero.subscribe();
        self.arrive();
        let zero = match rx.wait_for(Option::is_some).await {
            Ok(z) => *z,
            // The sender lives in `state`, which `self` holds: never closed here.
            Err(_) => None,
        };
        if self.state.failed.load(Ordering::Acquire) {
            return None;
        }
        Some(zero.unwrap_or_else(Instant::now))
    }

    fn arrive(&mut self) {
        if std::mem::replace(&mut self.arrived, true) {
            return;
        }
        if self.state.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let zero = self.state.fixed.unwrap_or_else(Instant::now);
            self.state.zero.send_replace(Some(zero));
        }
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        if !self.arrived {
            self.state.failed.store(true, Ordering::Release);
        }
        self.arrive();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_zero_is_taken_when_the_last_is_ready() {
        let mut a = start_together(2, None);
        let (late, early) = (a.pop().unwrap(), a.pop().unwrap());
        let first = tokio::spawn(early.ready());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!first.is_finished(), "the first waits for the second");
        let before = Instant::now();
        let zero = late.ready().await.expect("both ready");
        assert!(zero >= before);
        assert_eq!(first.await.unwrap(), Some(zero));
    }

    #[tokio::test]
    async fn a_failed_scenario_does_not_hold_the_others() {
        let mut a = start_together(2, None);
        drop(a.pop());
        let zero = tokio::time::timeout(Duration::from_secs(5), a.pop().unwrap().ready()).await;
        assert!(zero.is_ok());
    }

    #[tokio::test]
    async fn a_fixed_zero_is_kept() {
        let fixed = Instant::now() + Duration::from_secs(3);
        let a = start_together(1, Some(fixed));
        assert_eq!(a.into_iter().next().unwrap().ready().await, Some(fixed));
    }
}
