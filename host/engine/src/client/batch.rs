//! A VU's batch (k6's `http.batch`): its requests in flight at once, within the batch's
//! limits in all and per origin; on HTTP/1.1 each on a connection of its own, on HTTP/2
//! sharing the VU's one connection to the origin.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::connect::ByteCounts;
use super::{ClientError, Measured, Origin, Request, Response, VuClient, pool};
use crate::timeout::Timeout;

/// Requests one VU's batch may have in flight at once, whatever the scenario asks: each
/// holds a connection (a file descriptor) of the host's.
pub const MAX_BATCH_PARALLEL: u32 = 64;

/// How many of a batch's requests are in flight at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// In all (k6's `batch`, 20 by default).
    pub parallel: u32,
    /// To one origin (k6's `batchPerHost`, 6 by default).
    pub per_host: u32,
}

impl BatchLimits {
    /// Both at least 1, at most [`MAX_BATCH_PARALLEL`]; per origin at most in all.
    fn clamped(self) -> (usize, usize) {
        let parallel = self.parallel.clamp(1, MAX_BATCH_PARALLEL);
        (parallel as usize, self.per_host.clamp(1, parallel) as usize)
    }
}

type Outcome = (Result<Response, ClientError>, Measured);

impl VuClient {
    /// Sends `requests` at once within `limits`, starting them in their order as slots
    /// free up; their outcomes in the same order. Each is timed from its own start.
    ///
    /// A request sends the cookies the VU's jar holds when it starts (and those its own
    /// redirects set); what a response sets is in the jar once that request completes, as
    /// k6's shared jar has it. The VU's kept connections are lent to requests to their
    /// origin (an HTTP/2 one to all of them at once), and the batch's new connections
    /// kept after it (within the pool's bound; one HTTP/2 connection per origin).
    pub async fn send_batch(
        &mut self,
        requests: Vec<Request>,
        limits: BatchLimits,
    ) -> Vec<Outcome> {
        let (parallel, per_host) = limits.clamped();
        let mut out: Vec<Option<Outcome>> = std::iter::repeat_with(|| None)
            .take(requests.len())
            .collect();
        // A URL without an origin is not held back: its own send fails at once.
        let mut queue: VecDeque<(usize, Request, Option<Origin>)> = requests
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let origin = Origin::of(&r.url).ok();
                (i, r, origin)
            })
            .collect();
        let mut busy: Vec<(Origin, usize)> = Vec::new();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < parallel {
                let free = |o: &Option<Origin>| {
                    o.as_ref().is_none_or(|o| {
                        busy.iter()
                            .find(|(b, _)| b == o)
                            .is_none_or(|(_, n)| *n < per_host)
                    })
                };
                let Some(at) = queue.iter().position(|(_, _, o)| free(o)) else {
                    break;
                };
                let (i, req, origin) = queue.remove(at).expect("found in the queue");
                if let Some(o) = &origin {
                    match busy.iter_mut().find(|(b, _)| b == o) {
                        Some((_, n)) => *n += 1,
                        None => busy.push((o.clone(), 1)),
                    }
                }
                let mut lane = self.lane();
                // The counters identify the connection the lane is lent, if HTTP/2.
                let mut lent_h2 = None;
                if let Some(conn) = self.pool.lend(&req.url) {
                    lent_h2 = conn.is_h2().then(|| conn.counts.clone());
                    lane.pool.add(conn);
                }
                running.push(async move {
                    let outcome = lane.send(req).await;
                    (i, origin, lent_h2, lane, outcome)
                });
            }
            let Some((i, origin, lent_h2, mut lane, outcome)) = running.next().await else {
                break;
            };
            if let Some(o) = &origin
                && let Some((_, n)) = busy.iter_mut().find(|(b, _)| b == o)
            {
                *n -= 1;
            }
            self.absorb(&mut lane, origin.zip(lent_h2));
            out[i] = Some(outcome);
        }
        out.into_iter()
            .map(|o| o.expect("every request of a batch is sent"))
            .collect()
    }

    /// A client for one request of a batch: this VU's settings and a copy of its jar.
    fn lane(&self) -> VuClient {
        VuClient {
            config: self.config.clone(),
            resolver: self.resolver.clone(),
            pool: pool::Pool::default(),
            cookies: self.cookies.copy_uncounted(),
            has_cookies: self.has_cookies,
            read_hint: self.read_hint,
            timer: Timeout::default(),
            learned: Some(Vec::new()),
        }
    }

    /// Takes back what a lane's request left: the cookies it was sent, its connection.
    /// A lane lent the VU's HTTP/2 connection (`lent_h2`: its origin and counters) that
    /// comes back without it dropped it (it failed, or timed out): the VU's copy goes
    /// too, so later requests neither wait on it nor keep it over a new one.
    fn absorb(&mut self, lane: &mut VuClient, lent_h2: Option<(Origin, Arc<ByteCounts>)>) {
        for (set_cookie, url) in lane.learned.take().unwrap_or_default() {
            if self.cookies.set(&set_cookie, &url).is_ok() {
                self.has_cookies = true;
            }
        }
        if let Some((origin, counts)) = lent_h2
            && !lane.pool.holds(&counts)
        {
            self.pool.forget_h2(&origin);
        }
        for conn in lane.pool.drain() {
            self.pool.give_back(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::client::testing::{client, get};

    /// Counts the requests in flight at once: each is answered 50 ms after it came,
    /// with a cookie named after its path.
    struct Server {
        url: String,
        now: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
        cookies: Arc<std::sync::Mutex<Vec<String>>>,
    }

    async fn server() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let cookies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = Server {
            url,
            now: now.clone(),
            most: most.clone(),
            cookies: cookies.clone(),
        };
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let (now, most, cookies) = (now.clone(), most.clone(), cookies.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while let Ok(n @ 1..) = s.read(&mut chunk).await {
                        buf.extend_from_slice(&chunk[..n]);
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                            buf.drain(..end + 4);
                            let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                            let cookie = head
                                .lines()
                                .filter_map(|l| l.split_once(": "))
                                .find(|(k, _)| k.eq_ignore_ascii_case("cookie"))
                                .map(|(_, v)| v)
                                .unwrap_or("")
                                .to_string();
                            cookies.lock().unwrap().push(format!("{path} {cookie}"));
                            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(n, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            now.fetch_sub(1, Ordering::SeqCst);
                            let name = path.trim_start_matches('/');
                            let ok = format!(
                                "HTTP/1.1 200 OK\r\nset-cookie: {name}=1\r\ncontent-length: 2\r\n\r\nok"
                            );
                            if s.write_all(ok.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        s
    }

    #[tokio::test]
    async fn a_batch_is_in_flight_at_once_within_its_limits() {
        let s = server().await;
        let mut c = client();
        let reqs = |n: usize| (0..n).map(|i| get(&format!("{}/r{i}", s.url))).collect();
        let limits = |parallel, per_host| BatchLimits { parallel, per_host };
        let out = c.send_batch(reqs(5), limits(20, 6)).await;
        assert_eq!(s.most.load(Ordering::SeqCst), 5);
        for (res, m) in &out {
            assert_eq!(&res.as_ref().unwrap().body[..], b"ok");
            assert!(m.timings.total_us >= 50_000, "{:?}", m.timings);
        }
        // Per host, then in all; and nothing asked beyond the host's bound.
        s.most.store(0, Ordering::SeqCst);
        c.send_batch(reqs(5), limits(20, 2)).await;
        assert_eq!(s.most.load(Ordering::SeqCst), 2);
        s.most.store(0, Ordering::SeqCst);
        c.send_batch(reqs(5), limits(3, 6)).await;
        assert_eq!(s.most.load(Ordering::SeqCst), 3);
        s.most.store(0, Ordering::SeqCst);
        let out = c.send_batch(reqs(3), limits(0, 0)).await;
        assert_eq!(s.most.load(Ordering::SeqCst), 1);
        assert!(out.iter().all(|(r, _)| r.is_ok()));
        assert_eq!(s.now.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_batchs_cookies_are_the_vus_and_its_connections_are_kept() {
        let s = server().await;
        let mut c = client();
        // A first request: its cookie is sent by every request of the batch after it.
        let (first, m) = c.send(get(&format!("{}/a", s.url))).await;
        first.unwrap();
        assert!(m.timings.connect_us > 0);
        let reqs = (0..3).map(|i| get(&format!("{}/b{i}", s.url))).collect();
        let out = c
            .send_batch(
                reqs,
                BatchLimits {
                    parallel: 20,
                    per_host: 6,
                },
            )
            .await;
        // One request reused the VU's connection; the others opened their own.
        let reused = out
            .iter()
            .filter(|(_, m)| m.timings.connect_us == 0)
            .count();
        assert_eq!(reused, 1);
        let seen = s.cookies.lock().unwrap().clone();
        for i in 0..3 {
            assert!(seen.contains(&format!("/b{i} a=1")), "{seen:?}");
        }
        // What the batch's responses set is in the jar after it.
        s.cookies.lock().unwrap().clear();
        let (after, m) = c.send(get(&format!("{}/c", s.url))).await;
        after.unwrap();
        assert_eq!(m.timings.connect_us, 0, "a kept connection is reused");
        let seen = s.cookies.lock().unwrap().clone();
        let sent = seen[0].split_once(' ').unwrap().1;
        let mut names: Vec<&str> = sent.split("; ").collect();
        names.sort();
        assert_eq!(names, ["a=1", "b0=1", "b1=1", "b2=1"], "{seen:?}");
    }
}
