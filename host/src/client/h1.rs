//! One HTTP/1.1 exchange on a VU's own connection, run in the VU's own task.
//!
//! The wire format (request head, response parsing, body framing by content-length,
//! chunks or close, 1xx responses, when a connection must close) is ureq-proto's
//! sans-IO state machine; this file only moves bytes. Unlike hyper's client there is
//! no connection task, no channel to it and no buffer kept while the connection waits
//! for the VU's next request: an idle keep-alive connection is a socket. That is what
//! keeps an idle VU small and a request cheap (the notes of issue 2 have the figures).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use ureq_proto::BodyMode;
use ureq_proto::client::{
    Await100Result, Call, RecvBodyResult, RecvResponseResult, SendRequestResult,
    state::{RecvBody, RecvResponse, SendRequest},
};

use super::connect::CountingStream;
use super::{BodyError, Timings};
use crate::metrics::ErrorKind;

/// Largest response head (status line and headers) accepted.
const MAX_HEAD: usize = 256 << 10;
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
/// Largest piece of body decoded at once.
const DECODE_CHUNK: usize = 16 << 10;

/// Why an exchange failed before a response head arrived.
pub(super) enum Failure {
    /// No byte of a response arrived: on a kept-alive connection the server may have
    /// closed it meanwhile. `sent` says whether the whole request was written.
    NoResponse { sent: bool, message: String },
    /// Anything else; the connection is not reused.
    Protocol(String),
}

fn proto(e: impl std::fmt::Display) -> Failure {
    Failure::Protocol(e.to_string())
}

/// What is needed to read the body that follows a response head.
pub(super) struct Exchange<'a> {
    io: &'a mut CountingStream,
    /// Bytes read and not yet consumed are `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    rest: Rest,
}

// Unboxed: one per request, moved once; a box would be one more allocation.
#[allow(clippy::large_enum_variant)]
enum Rest {
    Body(Call<RecvBody>),
    /// No body follows; `close` if the connection may not be reused.
    Done {
        close: bool,
    },
}

type Sent<'a> = Result<(http::response::Parts, Exchange<'a>), Failure>;

/// [`send`] as a boxed future built in a frame of its own: the caller's future lives
/// on a VU's fiber stack, and building this one inline would deepen it.
#[inline(never)]
pub(super) fn send_boxed<'a>(
    io: &'a mut CountingStream,
    request: http::Request<()>,
    body: &'a Bytes,
    first_read: usize,
    t: &'a mut Timings,
) -> std::pin::Pin<Box<dyn Future<Output = Sent<'a>> + Send + 'a>> {
    Box::pin(send(io, request, body, first_read, t))
}

/// Writes `request` (whose `body` is sent as is) and reads the response head.
async fn send<'a>(
    io: &'a mut CountingStream,
    request: http::Request<()>,
    body: &Bytes,
    first_read: usize,
    t: &mut Timings,
) -> Sent<'a> {
    let t_send = Instant::now();
    let mut call = Call::new(request).map_err(proto)?;
    call.allow_non_standard_methods(true);
    if !body.is_empty() {
        // A scenario may send a body with any method (a GET with a body is its choice).
        call.force_send_body();
    }
    let mut call = call.proceed();
    let mut buf = Vec::with_capacity(first_read);
    let unsent = |e: io::Error| Failure::NoResponse {
        sent: false,
        message: e.to_string(),
    };
    write_head(&mut call, &mut buf)?;
    let mut recv: Call<RecvResponse> = match call.proceed().map_err(proto)? {
        Some(SendRequestResult::RecvResponse(c)) => {
            write_all(io, &buf, &[]).await.map_err(unsent)?;
            c
        }
        Some(SendRequestResult::SendBody(c)) => send_body(io, c, &buf, body).await?,
        // Expect: 100-continue: the body goes at once (a 100 that comes later is skipped
        // while reading the response).
        Some(SendRequestResult::Await100(c)) => match c.proceed().map_err(proto)? {
            Await100Result::SendBody(c) => send_body(io, c, &buf, body).await?,
            Await100Result::RecvResponse(c) => {
                write_all(io, &buf, &[]).await.map_err(unsent)?;
                c
            }
        },
        None => return Err(proto("request head incomplete")),
    };
    t.send_us += t_send.elapsed().as_micros() as u64;

    let t_wait = Instant::now();
    buf.clear();
    let mut pos = 0;
    // Whether any byte of a response (a skipped 1xx included) has arrived.
    let mut got_any = false;
    let response = loop {
        if pos < buf.len() {
            let (used, response) = recv.try_response(&buf[pos..], false).map_err(proto)?;
            pos += used;
            if let Some(r) = response {
                break r;
            }
            if used > 0 {
                // A 1xx response was skipped; what follows may already be here.
                continue;
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
    t.wait_us += t_wait.elapsed().as_micros() as u64;
    let (parts, ()) = response.into_parts();
    let rest = match recv.proceed() {
        Some(RecvResponseResult::RecvBody(c)) => Rest::Body(c),
        Some(RecvResponseResult::Redirect(c)) => Rest::Done {
            close: c.must_close_connection(),
        },
        Some(RecvResponseResult::Cleanup(c)) => Rest::Done {
            close: c.must_close_connection(),
        },
        None => return Err(proto("response head incomplete")),
    };
    Ok((parts, Exchange { io, buf, pos, rest }))
}

impl Exchange<'_> {
    /// Reads the whole body, handing each decoded piece to `feed`. Returns whether
    /// the connection can carry another request.
    pub async fn read_body(
        mut self,
        mut feed: impl FnMut(&[u8]) -> Result<(), BodyError>,
    ) -> Result<bool, BodyError> {
        let proto = |e: &dyn std::fmt::Display| (ErrorKind::Protocol, e.to_string());
        let mut call = match self.rest {
            Rest::Done { close } => return Ok(!close && self.pos == self.buf.len()),
            Rest::Body(c) => c,
        };
        let (close_delimited, scratch) = match call.body_mode() {
            BodyMode::LengthDelimited(n) => (false, (n as usize).min(DECODE_CHUNK)),
            BodyMode::CloseDelimited => (true, DECODE_CHUNK),
            _ => (false, DECODE_CHUNK),
        };
        let mut out = vec![0u8; scratch.max(1)];
        let ended = |c: &Call<RecvBody>| !close_delimited && c.can_proceed();
        while !ended(&call) {
            if self.pos < self.buf.len() {
                let (used, decoded) = call
                    .read(&self.buf[self.pos..], &mut out)
                    .map_err(|e| proto(&e))?;
                self.pos += used;
                if decoded > 0 {
                    feed(&out[..decoded])?;
                }
                if used > 0 || decoded > 0 {
                    continue;
                }
            }
            let n = read_more(self.io, &mut self.buf, &mut self.pos)
                .await
                .map_err(|e| proto(&e))?;
            if n == 0 {
                if close_delimited {
                    return Ok(false);
                }
                return Err((
                    ErrorKind::Protocol,
                    "connection closed before the body was complete".into(),
                ));
            }
        }
        // Bytes past the framed body mean the connection is out of step: do not reuse it.
        let leftover = self.pos < self.buf.len();
        let close = match call.proceed() {
            Some(RecvBodyResult::Cleanup(c)) => c.must_close_connection(),
            Some(RecvBodyResult::Redirect(c)) => c.must_close_connection(),
            None => true,
        };
        Ok(!close && !leftover)
    }
}

/// Serialises the request head into `buf`, grown until the head fits, so that it goes
/// out with the body in one write.
fn write_head(call: &mut Call<SendRequest>, buf: &mut Vec<u8>) -> Result<(), Failure> {
    buf.resize(1024, 0);
    let mut filled = 0;
    loop {
        match call.write(&mut buf[filled..]) {
            Ok(n) => filled += n,
            // The next line does not fit in what is left.
            Err(ureq_proto::Error::OutputOverflow) => {}
            Err(e) => return Err(proto(e)),
        }
        if call.can_proceed() {
            buf.truncate(filled);
            return Ok(());
        }
        if buf.len() >= MAX_HEAD {
            return Err(proto(format!(
                "request head larger than {} KiB",
                MAX_HEAD >> 10
            )));
        }
        let len = buf.len() * 2;
        buf.resize(len, 0);
    }
}

async fn send_body(
    io: &mut CountingStream,
    mut call: Call<ureq_proto::client::state::SendBody>,
    head: &[u8],
    body: &Bytes,
) -> Result<Call<RecvResponse>, Failure> {
    // The body goes out as it is (its content-length is in the head).
    call.consume_direct_write(body.len()).map_err(proto)?;
    write_all(io, head, body)
        .await
        .map_err(|e| Failure::NoResponse {
            sent: false,
            message: e.to_string(),
        })?;
    call.proceed()
        .ok_or_else(|| proto("request body incomplete"))
}

/// Writes `a` then `b`, gathered into as few writes as the socket takes.
async fn write_all(io: &mut CountingStream, mut a: &[u8], mut b: &[u8]) -> io::Result<()> {
    while !a.is_empty() || !b.is_empty() {
        let n = if a.is_empty() {
            io.write(b).await?
        } else if b.is_empty() {
            io.write(a).await?
        } else {
            io.write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
                .await?
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_a = n.min(a.len());
        a = &a[from_a..];
        b = &b[n - from_a..];
    }
    io.flush().await
}

/// Reads more of the response after the unconsumed `buf[pos..]`, moving that to the
/// front first. Returns the bytes read (0 at end of stream).
async fn read_more(
    io: &mut CountingStream,
    buf: &mut Vec<u8>,
    pos: &mut usize,
) -> io::Result<usize> {
    if *pos > 0 {
        buf.drain(..*pos);
        *pos = 0;
    }
    if buf.capacity() - buf.len() < MIN_FIRST_READ / 2 {
        buf.reserve(READ_CHUNK);
    }
    io.read_buf(buf).await
}

/// Whether an idle connection still looks usable: nothing to read and no end of
/// stream. Does not wait.
pub(super) fn still_open(io: &mut CountingStream) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    let mut byte = [0u8; 1];
    let mut rb = ReadBuf::new(&mut byte);
    matches!(Pin::new(io).poll_read(&mut cx, &mut rb), Poll::Pending)
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
}
