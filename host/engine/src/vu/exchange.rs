//! A request handed from the guest's `http.send` call to its VU's task, and the outcome
//! handed back.
//!
//! wasmtime polls a host call's future on the VU's fiber stack. An HTTP exchange polled
//! there runs kilobytes deep into that stack, a different stack for every VU: with tens
//! of VUs, more memory per round of requests than a core's caches hold. So the host call
//! only posts the request and waits; [`drive`], which runs the guest call from the VU's
//! task, sends it. Its frames are then on the worker thread's stack, which every VU
//! shares, and its state in the VU's task, reused from one request to the next.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Instant;

use crate::client::cookies::{JarAnswer, JarOp};
use crate::client::{BatchLimits, ClientError, Measured, Request, Response, VuClient};
use crate::metrics::ErrorKind;

/// What became of a request, and what it cost.
pub type Outcome = (Result<Response, ClientError>, Measured);

enum Slot {
    /// No guest call is being driven, so nothing would send a request.
    Undriven,
    Idle,
    Posted(Request, Instant),
    /// Requests to send at once (`http.send-batch`).
    Batch(Vec<Request>, BatchLimits),
    /// The scenario asks the client for its cookie jar, which lives with the client.
    Jar(JarOp),
    Sending,
    Done(Outcome),
    /// A batch's outcomes, in its order.
    BatchDone(Vec<Outcome>),
    Answered(JarAnswer),
}

enum Job {
    Send(Request, Instant),
    Batch(Vec<Request>, BatchLimits),
    Jar(JarOp),
}

/// One per VU, shared by its store (the host call) and its task ([`drive`]). They take
/// turns, so the lock is never contended.
pub struct Exchange(Mutex<Slot>);

impl Default for Exchange {
    fn default() -> Self {
        Exchange(Mutex::new(Slot::Undriven))
    }
}

impl Exchange {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // Nothing panics while holding it; a poisoned lock still holds a valid slot.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From the host call: hands `req`, begun at `start`, to the driving task. Refused
    /// when no call is being driven.
    pub fn post(&self, req: Request, start: Instant) -> Result<(), ClientError> {
        // Only `describe` and instantiation run undriven: they are meant to declare the
        // scenario, not to load the target.
        self.hand_over(Slot::Posted(req, start), "http.send is not available")
    }

    /// From the host call: the outcome of the request it posted.
    pub fn outcome(&self) -> impl Future<Output = Outcome> + '_ {
        self.answer(|slot| match std::mem::replace(slot, Slot::Idle) {
            Slot::Done(outcome) => Some(outcome),
            other => {
                *slot = other;
                None
            }
        })
    }

    /// From the host call: hands a batch of requests to the driving task.
    pub fn post_batch(&self, reqs: Vec<Request>, limits: BatchLimits) -> Result<(), ClientError> {
        self.hand_over(
            Slot::Batch(reqs, limits),
            "http.send-batch is not available",
        )
    }

    /// From the host call: the outcomes of the batch it posted, in its order.
    pub fn batch_outcomes(&self) -> impl Future<Output = Vec<Outcome>> + '_ {
        self.answer(|slot| match std::mem::replace(slot, Slot::Idle) {
            Slot::BatchDone(outcomes) => Some(outcomes),
            other => {
                *slot = other;
                None
            }
        })
    }

    /// From the host call: hands a cookie-jar operation to the driving task.
    pub fn post_jar(&self, op: JarOp) -> Result<(), ClientError> {
        self.hand_over(Slot::Jar(op), "the cookie jar is not available")
    }

    /// From the host call: the answer to the jar operation it posted.
    pub fn jar_answer(&self) -> impl Future<Output = JarAnswer> + '_ {
        self.answer(|slot| match std::mem::replace(slot, Slot::Idle) {
            Slot::Answered(a) => Some(a),
            other => {
                *slot = other;
                None
            }
        })
    }

    fn hand_over(&self, job: Slot, what: &str) -> Result<(), ClientError> {
        let mut slot = self.slot();
        if !matches!(*slot, Slot::Idle) {
            return Err(ClientError::new(
                ErrorKind::Denied,
                format!(
                    "{what} while the scenario is described or instantiated; use it from on-start, a task or on-stop"
                ),
            ));
        }
        *slot = job;
        Ok(())
    }

    /// What the driver put in the slot for the host call, once `take` finds it there.
    fn answer<T: 'static>(&self, take: fn(&mut Slot) -> Option<T>) -> impl Future<Output = T> + '_ {
        // No waker is kept: the driver polls the call again once the answer is in.
        poll_fn(move |_| {
            let mut slot = self.slot();
            // Checked first: the slot is not moved while a request is still on its way.
            if !matches!(
                *slot,
                Slot::Done(_) | Slot::BatchDone(_) | Slot::Answered(_)
            ) {
                return Poll::Pending;
            }
            take(&mut slot).map_or(Poll::Pending, Poll::Ready)
        })
    }

    fn take_posted(&self) -> Option<Job> {
        let mut slot = self.slot();
        if !matches!(*slot, Slot::Posted(..) | Slot::Batch(..) | Slot::Jar(_)) {
            return None;
        }
        match std::mem::replace(&mut *slot, Slot::Sending) {
            Slot::Posted(req, start) => Some(Job::Send(req, start)),
            Slot::Batch(reqs, limits) => Some(Job::Batch(reqs, limits)),
            Slot::Jar(op) => Some(Job::Jar(op)),
            _ => unreachable!("checked above"),
        }
    }

    #[inline]
    fn set(&self, to: Slot) {
        *self.slot() = to;
    }
}

/// Marks the exchange undriven again however the driving ends (a time limit drops it).
struct Driving<'a>(&'a Exchange);

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        self.0.set(Slot::Undriven);
    }
}

/// Runs the guest call `call` to its end, sending on `client` each request it posts.
/// The call is pinned by the caller: moving a future copies all of it, and this one is
/// built once per call, in the caller's state.
pub async fn drive<T>(
    exchange: &Exchange,
    client: &mut VuClient,
    mut call: Pin<&mut impl Future<Output = T>>,
) -> T {
    exchange.set(Slot::Idle);
    let _driving = Driving(exchange);
    loop {
        let posted = poll_fn(|cx| match call.as_mut().poll(cx) {
            Poll::Ready(out) => Poll::Ready(Err(out)),
            Poll::Pending => match exchange.take_posted() {
                Some(p) => Poll::Ready(Ok(p)),
                // Waiting on something else (a sleep, an epoch yield), which wakes us.
                None => Poll::Pending,
            },
        })
        .await;
        match posted {
            Err(out) => return out,
            Ok(Job::Send(req, start)) => {
                let outcome = client.send_at(req, start).await;
                exchange.set(Slot::Done(outcome));
            }
            Ok(Job::Batch(reqs, limits)) => {
                // Boxed: a batch is rare, and its state stays out of every call's future.
                let outcomes = Box::pin(client.send_batch(reqs, limits)).await;
                exchange.set(Slot::BatchDone(outcomes));
            }
            Ok(Job::Jar(op)) => exchange.set(Slot::Answered(client.jar(op))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::client::testing::{client, get};

    /// A keep-alive HTTP/1.1 server on 127.0.0.1 that answers every request "ok" and
    /// counts them.
    async fn server() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ok", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicUsize::new(0));
        let counted = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while let Ok(n @ 1..) = s.read(&mut chunk).await {
                        buf.extend_from_slice(&chunk[..n]);
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..end + 4);
                            counted.fetch_add(1, Ordering::SeqCst);
                            let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if s.write_all(ok).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn the_driver_sends_what_the_call_posts_and_hands_back_the_response() {
        let (url, seen) = server().await;
        let (exchange, mut client) = (Exchange::default(), client());
        let call = std::pin::pin!(async {
            let mut statuses = Vec::new();
            for _ in 0..3 {
                exchange.post(get(&url), Instant::now()).unwrap();
                let (res, m) = exchange.outcome().await;
                let res = res.unwrap();
                assert_eq!(&res.body[..], b"ok");
                assert!(m.bytes_received > 0);
                statuses.push(res.status);
            }
            statuses
        });
        assert_eq!(drive(&exchange, &mut client, call).await, [200, 200, 200]);
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_request_posted_with_no_call_driven_is_refused_at_once() {
        let (url, seen) = server().await;
        let exchange = Exchange::default();
        // Refused at once: nothing would ever send it, so the call must not wait for it.
        let e = exchange.post(get(&url), Instant::now()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Denied);
        assert!(e.message.contains("on-start, a task or on-stop"), "{e}");
        // Once a driven call has ended, the same holds again.
        let mut client = client();
        let call = std::pin::pin!(async {
            exchange.post(get(&url), Instant::now()).unwrap();
            exchange.outcome().await.0.unwrap().status
        });
        assert_eq!(drive(&exchange, &mut client, call).await, 200);
        let e = exchange.post(get(&url), Instant::now()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Denied);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }
}
