//! A timeout that keeps its timer between uses.
//!
//! `tokio::time::timeout` registers a timer in the runtime's wheel and removes it again
//! for every call, twice per iteration of a VU (the task and each request). Nearly all
//! of those calls end long before their deadline, so this one keeps a single timer per
//! owner and only moves it when it fires before the current deadline (a deadline of an
//! earlier call) or when a call's deadline is earlier than the timer: with a 60 s
//! timeout that is once a minute instead of once per request.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use tokio::task::coop;
use tokio::time::{Instant, Sleep};

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// One owner's reusable timeout (a VU's task calls, a VU's requests).
#[derive(Debug, Default)]
pub struct Timeout {
    timer: Option<Pin<Box<Sleep>>>,
}

impl Timeout {
    /// Runs `fut` until it completes or `limit` has passed since `start`.
    pub async fn within<F: Future>(
        &mut self,
        start: Instant,
        limit: Duration,
        fut: F,
    ) -> Result<F::Output, Elapsed> {
        // A limit past what an Instant holds (`--timeout 1000000y`) means none.
        let deadline = start
            .checked_add(limit)
            .unwrap_or_else(|| start + Duration::from_secs(86_400 * 365 * 30));
        let timer = match &mut self.timer {
            Some(t) => {
                if t.deadline() > deadline {
                    t.as_mut().reset(deadline);
                }
                t
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            let had_budget = coop::has_budget_remaining();
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(v));
            }
            // A future that used up tokio's cooperative budget (a body streaming in
            // faster than it is read) would leave the timer unpolled for good: as
            // `tokio::time::timeout` does, the timer is then polled outside the budget.
            let starved = had_budget && !coop::has_budget_remaining();
            let mut fired = |timer: Pin<&mut Sleep>| {
                if starved {
                    Pin::new(&mut coop::unconstrained(timer))
                        .poll(cx)
                        .is_ready()
                } else {
                    timer.poll(cx).is_ready()
                }
            };
            // The timer may be set for an earlier call's deadline: then it is moved on,
            // and polled again so that it holds this task's waker.
            while fired(timer.as_mut()) {
                if timer.deadline() >= deadline {
                    return Poll::Ready(Err(Elapsed));
                }
                timer.as_mut().reset(deadline);
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn fires_at_each_calls_own_deadline_with_one_timer() {
        let mut t = Timeout::default();
        let slow = || tokio::time::sleep(Duration::from_secs(60));
        // Quick calls complete; the timer stays at the first one's deadline.
        for _ in 0..3 {
            let r = t.within(Instant::now(), 100 * MS, async { 7 }).await;
            assert_eq!(r, Ok(7));
        }
        // A later call outlives that deadline: it is not cut short by it.
        let start = Instant::now();
        assert_eq!(t.within(start, 300 * MS, slow()).await, Err(Elapsed));
        assert!(start.elapsed() >= 300 * MS, "{:?}", start.elapsed());
        // A deadline earlier than the timer's is honoured (not the timer's 30 s).
        let start = Instant::now();
        let timer = t.timer.as_mut().expect("kept");
        timer.as_mut().reset(start + Duration::from_secs(30));
        assert_eq!(t.within(start, 50 * MS, slow()).await, Err(Elapsed));
        let took = start.elapsed();
        assert!(
            took >= 50 * MS && took < Duration::from_secs(20),
            "{took:?}"
        );
        // A call that outlives an older deadline and then completes in time.
        let start = Instant::now();
        t.timer
            .as_mut()
            .expect("kept")
            .as_mut()
            .reset(start + 10 * MS);
        let r = t
            .within(start, Duration::from_secs(30), async {
                tokio::time::sleep(100 * MS).await;
                1
            })
            .await;
        assert_eq!(r, Ok(1));
    }

    #[tokio::test]
    async fn a_limit_past_any_instant_means_none() {
        let mut t = Timeout::default();
        let r = t.within(Instant::now(), Duration::MAX, async { 3 }).await;
        assert_eq!(r, Ok(3));
    }

    #[tokio::test]
    async fn a_future_that_spends_the_coop_budget_still_times_out() {
        // Like reads that always find data (a server streaming without pause): every
        // poll spends the task's whole budget, then yields.
        let start = Instant::now();
        let busy = async {
            while start.elapsed() < Duration::from_secs(20) {
                coop::consume_budget().await;
            }
        };
        let r = Timeout::default().within(start, 50 * MS, busy).await;
        assert_eq!(r, Err(Elapsed));
        let took = start.elapsed();
        assert!(
            took >= 50 * MS && took < Duration::from_secs(10),
            "{took:?}"
        );
    }
}
