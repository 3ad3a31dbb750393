//! One HTTP/1.1 exchange on a VU's own connection, run in the VU's own task.
//!
//! [`encode`] writes the request head; [`decode`] parses the response head (httparse)
//! and frames the body (RFC 9112 section 6: no body for HEAD, 1xx, 204 and 304;
//! chunked; content-length; else to the end of the stream); this module runs the
//! exchange over any byte stream and decides whether the connection can be reused.
//! Unlike hyper's client there is no connection task, no
//! channel to it and no buffer kept while the connection waits for the VU's next
//! request: an idle keep-alive connection is a socket. The body is handed on straight
//! from the read buffer. That is what keeps an idle VU small and a request cheap (the
//! notes of issue 2 have the figures).

mod decode;
mod encode;
mod write;

use std::io;
use std::time::Instant;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::ErrorKind;
use super::Timings;
use super::body::BodyError;
use decode::{Chunk, Framing, MAX_HEAD, Parsed, decode_chunked, parse_head};
pub(super) use encode::RequestHead;
use write::{Wrote, write_watching};

/// Bytes asked of the socket per read past the first.
const READ_CHUNK: usize = 8 << 10;
/// Bounds of the first read's buffer, sized from the previous response: small API
/// responses take one small transient buffer (less for the allocator to hold after a
/// burst of VUs), large ones few reads.
pub(super) const MIN_FIRST_READ: usize = 2 << 10;
const MAX_FIRST_READ: usize = 64 << 10;

/// The first read's size for a connection whose last response was `received` bytes.
pub(super) fn first_read_for(received: u64) -> usize {
    (received as usize)
        .next_power_of_two()
        .clamp(MIN_FIRST_READ, MAX_FIRST_READ)
}

/// Why an exchange failed before a response head arrived.
pub(super) enum Failure {
    /// No byte of a response arrived: on a kept-alive connection the server may have
    /// closed it meanwhile. `sent` says whether the whole request was written.
    NoResponse { sent: bool, message: String },
    /// Anything else; the connection is not reused.
    Protocol(String),
}

pub(super) fn proto(e: impl std::fmt::Display) -> Failure {
    Failure::Protocol(e.to_string())
}

/// A connection's byte stream: a socket (counted, maybe TLS) in use, memory in tests.
pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

/// What is needed to read the body that follows a response head.
pub(super) struct Exchange<'a, S> {
    io: &'a mut S,
    /// Bytes read and not yet consumed are `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    framing: Framing,
    /// The connection may not carry another request.
    close: bool,
    /// Chunk-extension and trailer bytes read so far.
    extras: usize,
    /// When the response head was complete (the body's time starts there).
    pub head_at: Instant,
}

type Sent<'a, S> = Result<(http::response::Parts, Exchange<'a, S>), Failure>;

/// [`send`] as a boxed future built in a frame of its own: inline, it would grow the
/// caller's future, which is built (copied whole) once per request.
#[inline(never)]
pub(super) fn send_boxed<'a, S: Stream>(
    io: &'a mut S,
    head: RequestHead,
    body: &'a Bytes,
    all_headers: bool,
    t: &'a mut Timings,
) -> std::pin::Pin<Box<dyn Future<Output = Sent<'a, S>> + Send + 'a>> {
    Box::pin(send(io, head, body, all_headers, t))
}

/// Writes the request `head` and `body` (as is, in one write) and reads the response
/// head. The response's headers are all kept if `all_headers`, otherwise
/// only those the client acts on (cookies, redirects, content encoding).
async fn send<'a, S: Stream>(
    io: &'a mut S,
    head: RequestHead,
    body: &Bytes,
    all_headers: bool,
    t: &mut Timings,
) -> Sent<'a, S> {
    let t_send = Instant::now();
    let RequestHead { mut buf, sent: req } = head;
    buf.extend_from_slice(b"\r\n");
    let mut early = Vec::new();
    let wrote = write_watching(io, &buf, body, &mut early, req)
        .await
        .map_err(|e| Failure::NoResponse {
            sent: false,
            message: e.to_string(),
        })?;
    // One clock read per phase boundary: each ends the phase before it.
    let t_wait = Instant::now();
    t.send_us += (t_wait - t_send).as_micros() as u64;

    if early.is_empty() {
        // The head's buffer takes the response: it was sized for that (`RequestHead::new`).
        buf.clear();
    } else {
        buf = early;
    }
    let mut pos = 0;
    // Whether any byte of a response (a skipped 1xx included) has arrived.
    let mut got_any = !buf.is_empty();
    let head = loop {
        if pos < buf.len() {
            match parse_head(&buf[pos..], req, all_headers)? {
                Parsed::Final(head) => break head,
                // A 1xx response was skipped; what follows may already be here.
                Parsed::Interim(used) => {
                    pos += used;
                    continue;
                }
                Parsed::Partial => {}
            }
        }
        if buf.len() - pos >= MAX_HEAD {
            return Err(proto(format!(
                "response head larger than {} KiB",
                MAX_HEAD >> 10
            )));
        }
        let first = !got_any;
        let n = read_more(io, &mut buf, &mut pos).await.map_err(|e| {
            if first {
                Failure::NoResponse {
                    sent: true,
                    message: e.to_string(),
                }
            } else {
                proto(e)
            }
        })?;
        if n == 0 {
            let message = "connection closed before a response".to_string();
            return Err(if first {
                Failure::NoResponse {
                    sent: true,
                    message,
                }
            } else {
                Failure::Protocol("connection closed in the response head".into())
            });
        }
        got_any = true;
    };
    let head_at = Instant::now();
    t.wait_us += (head_at - t_wait).as_micros() as u64;
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = head.status;
    parts.version = head.version;
    parts.headers = head.headers;
    let exchange = Exchange {
        io,
        buf,
        pos: pos + head.used,
        framing: head.framing,
        // The rest of an answered request was never written.
        close: head.close || wrote == Wrote::Early,
        extras: 0,
        head_at,
    };
    Ok((parts, exchange))
}

impl<S: Stream> Exchange<'_, S> {
    /// Reads the whole body, handing each piece to `feed` as it arrives (straight from
    /// the read buffer). Returns whether the connection can carry another request.
    pub async fn read_body(
        mut self,
        mut feed: impl FnMut(&[u8]) -> Result<(), BodyError>,
    ) -> Result<bool, BodyError> {
        loop {
            let data = &self.buf[self.pos..];
            let used = match &mut self.framing {
                Framing::Empty | Framing::Chunked(Chunk::Done) => break,
                Framing::Length(0) => break,
                Framing::Length(rest) => {
                    let n = data.len().min(usize::try_from(*rest).unwrap_or(usize::MAX));
                    if n > 0 {
                        feed(&data[..n])?;
                        *rest -= n as u64;
                    }
                    n
                }
                Framing::Close => {
                    if !data.is_empty() {
                        feed(data)?;
                    }
                    data.len()
                }
                Framing::Chunked(state) => {
                    decode_chunked(state, &mut self.extras, data, &mut feed)?
                }
            };
            self.pos += used;
            if used > 0 {
                continue;
            }
            let n = read_more(self.io, &mut self.buf, &mut self.pos)
                .await
                .map_err(|e| (ErrorKind::Protocol, e.to_string()))?;
            if n == 0 {
                if self.framing == Framing::Close {
                    return Ok(false);
                }
                return Err((
                    ErrorKind::Protocol,
                    "connection closed before the body was complete".into(),
                ));
            }
        }
        // Bytes past the framed body mean the connection is out of step: do not reuse it.
        Ok(!self.close && self.pos == self.buf.len())
    }
}

/// Reads more of the response after the unconsumed `buf[pos..]`, moving that to the
/// front first. Returns the bytes read (0 at end of stream).
async fn read_more<S: Stream>(io: &mut S, buf: &mut Vec<u8>, pos: &mut usize) -> io::Result<usize> {
    if *pos > 0 {
        buf.drain(..*pos);
        *pos = 0;
    }
    if buf.capacity() - buf.len() < MIN_FIRST_READ / 2 {
        buf.reserve(READ_CHUNK);
    }
    io.read_buf(buf).await
}

/// Fuzzing entry (`tests/fuzz`): one exchange whose response is `data`, delivered in
/// reads of `data[0]` bytes at most; every outcome must be a value, never a panic.
#[cfg(fuzzing)]
pub(in crate::client) fn fuzz_response(data: &[u8]) {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    struct Memory<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl AsyncRead for Memory<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = self.step.min(buf.remaining()).min(self.data.len());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Poll::Ready(Ok(()))
        }
    }
    impl AsyncWrite for Memory<'_> {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            d: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(d.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut io = Memory {
        data: rest,
        step: usize::from(first).max(1),
    };
    let method = if first & 1 == 0 {
        http::Method::GET
    } else {
        http::Method::HEAD
    };
    let exchange = async {
        let head = RequestHead::new(&method, "/", MIN_FIRST_READ);
        let mut t = Timings::default();
        let body = Bytes::new();
        if let Ok((_, ex)) = send(&mut io, head, &body, first & 2 == 0, &mut t).await {
            let mut total = 0usize;
            let _ = ex
                .read_body(|d| {
                    total += d.len();
                    Ok(())
                })
                .await;
        }
    };
    // Memory is always ready: the exchange ends without ever waiting.
    let mut exchange = std::pin::pin!(exchange);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    while exchange.as_mut().poll(&mut cx).is_pending() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_read_follows_the_last_response_within_bounds() {
        assert_eq!(first_read_for(0), MIN_FIRST_READ);
        assert_eq!(first_read_for(150), MIN_FIRST_READ);
        assert_eq!(first_read_for(3_000), 4096);
        assert_eq!(first_read_for(40 << 20), MAX_FIRST_READ);
    }

    /// A connection in memory: reads hand out `response` `step` bytes at a time, and
    /// writes take at most `step` bytes each, so every split of both is exercised.
    struct Scripted {
        response: Vec<u8>,
        at: usize,
        step: usize,
        written: Vec<u8>,
        /// Past this many bytes written, writes wait forever (`Ok`) or fail (`Err`): a
        /// server that answered without reading the rest.
        wall: Option<(usize, Result<(), io::ErrorKind>)>,
    }

    impl Scripted {
        fn new(response: &[u8], step: usize) -> Self {
            Scripted {
                response: response.to_vec(),
                at: 0,
                step,
                written: Vec::new(),
                wall: None,
            }
        }
    }

    impl AsyncRead for Scripted {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            let n = self
                .step
                .min(buf.remaining())
                .min(self.response.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.response[at..at + n]);
            self.at += n;
            std::task::Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Scripted {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            data: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            if let Some((at, then)) = self.wall
                && self.written.len() >= at
            {
                return match then {
                    Ok(()) => std::task::Poll::Pending,
                    Err(kind) => std::task::Poll::Ready(Err(kind.into())),
                };
            }
            let n = data.len().min(self.step);
            self.written.extend_from_slice(&data[..n]);
            std::task::Poll::Ready(Ok(n))
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// One exchange over `response` split every `step` bytes: the request as written,
    /// the status, the body, and whether the connection could be reused.
    async fn exchange(
        method: http::Method,
        response: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, u16, Vec<u8>, bool), String> {
        exchange_on(Scripted::new(response, step), method, b"payload").await
    }

    async fn exchange_on(
        mut io: Scripted,
        method: http::Method,
        body: &'static [u8],
    ) -> Result<(Vec<u8>, u16, Vec<u8>, bool), String> {
        let mut head = RequestHead::new(&method, "/p", MIN_FIRST_READ);
        head.field("x-a", b"1").map_err(String::from)?;
        let body = Bytes::from_static(body);
        let mut t = Timings::default();
        let (parts, ex) = match send(&mut io, head, &body, false, &mut t).await {
            Ok(ok) => ok,
            Err(Failure::Protocol(m)) => return Err(m),
            Err(Failure::NoResponse { sent, message }) => {
                return Err(format!("no response (sent: {sent}): {message}"));
            }
        };
        let mut got = Vec::new();
        let reusable = ex
            .read_body(|d| {
                got.extend_from_slice(d);
                Ok(())
            })
            .await
            .map_err(|e| e.1)?;
        Ok((io.written, parts.status.as_u16(), got, reusable))
    }

    #[tokio::test]
    async fn exchanges_run_over_any_split_of_reads_and_writes() {
        let cases: [(&[u8], &[u8], bool); 3] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                b"hello",
                true,
            ),
            // A 100 Continue is skipped; the chunked body is decoded.
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                b"abcde",
                true,
            ),
            // Read to the end of the stream: the connection cannot carry another.
            (b"HTTP/1.1 200 OK\r\n\r\nuntil closed", b"until closed", false),
        ];
        let status = |r: &[u8]| {
            if r.windows(3).any(|w| w == b"201") {
                201
            } else {
                200
            }
        };
        for (response, body, reused) in cases {
            for step in 1..=response.len() {
                let (written, code, got, reusable) =
                    exchange(http::Method::POST, response, step).await.unwrap();
                assert_eq!(
                    written, b"POST /p HTTP/1.1\r\nx-a: 1\r\n\r\npayload",
                    "step {step}"
                );
                assert_eq!(code, status(response), "step {step}");
                assert_eq!(got, body, "step {step}");
                assert_eq!(reusable, reused, "step {step}");
            }
        }
        // Bytes past the framed body, read with it: out of step, not reused.
        let extra = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
        let (_, _, got, reusable) = exchange(http::Method::POST, extra, 64).await.unwrap();
        assert_eq!((&got[..], reusable), (&b"ok"[..], false));
    }

    #[tokio::test]
    async fn a_connection_that_ends_early_says_where() {
        // Nothing came back: the one case a kept-alive connection may be retried on.
        let e = exchange(http::Method::GET, b"", 7).await.unwrap_err();
        assert!(e.starts_with("no response (sent: true)"), "{e}");
        for (cut, says) in [
            (
                &b"HTTP/1.1 200 OK\r\nContent-Le"[..],
                "in the response head",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
                "before the body was complete",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                "before the body was complete",
            ),
        ] {
            for step in [1, 4, 64] {
                let e = exchange(http::Method::GET, cut, step).await.unwrap_err();
                assert!(e.contains(says), "step {step}: {e}");
            }
        }
        // A HEAD's response has no body, whatever its length says.
        let (_, _, got, reusable) = exchange(
            http::Method::HEAD,
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
            3,
        )
        .await
        .unwrap();
        assert!(got.is_empty() && reusable);
    }

    #[tokio::test]
    async fn an_answer_before_the_body_is_written_is_the_response() {
        // The server answers 413 after 40 bytes of a large upload, then stops reading
        // (the write waits) or closes (the write fails): either way the answer is the
        // response, whatever the split of its reads, and the connection is not reused.
        let answer = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!";
        let upload: &'static [u8] = &[b'x'; 100_000];
        for then in [
            Ok(()),
            Err(io::ErrorKind::BrokenPipe),
            Err(io::ErrorKind::ConnectionReset),
        ] {
            for step in [1, 7, 64, 4096] {
                let mut conn = Scripted::new(answer, step);
                conn.wall = Some((40, then));
                let (written, code, got, reusable) =
                    exchange_on(conn, http::Method::PUT, upload).await.unwrap();
                assert!(written.len() < upload.len(), "{then:?} step {step}");
                assert_eq!((code, &got[..], reusable), (413, &b"too big!"[..], false));
            }
        }
        // A write that fails with nothing to show for it is the failure, not sent whole.
        let mut conn = Scripted::new(b"", 64);
        conn.wall = Some((40, Err(io::ErrorKind::BrokenPipe)));
        let e = exchange_on(conn, http::Method::PUT, upload)
            .await
            .unwrap_err();
        assert!(e.starts_with("no response (sent: false)"), "{e}");
    }
}
