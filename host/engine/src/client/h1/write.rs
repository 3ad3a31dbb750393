//! Writing a request while reading: a server may answer before it has read the whole
//! body (a 401 or 413 to an upload) and then close. Like hyper's client, the exchange
//! keeps reading while its writes wait, so that answer is recorded with its status
//! instead of as a broken pipe.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::Poll;

use tokio::io::ReadBuf;

use super::Stream;
use super::decode::{MAX_HEAD, Parsed, parse_head};
use super::encode::Asked;

/// How the write of a request ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Wrote {
    /// All of it was written and flushed.
    All,
    /// A final response head arrived first (in the read buffer); the rest of the request
    /// was not written, so the connection cannot carry another.
    Early,
}

/// Bytes read per poll while a write waits.
const WATCH_READ: usize = 4 << 10;

/// Writes `a` then `b`, gathered into as few writes as the socket takes. Whenever a
/// write cannot proceed (or fails), reads what the server sent into `got` (left empty,
/// unallocated, in the common case of a request written whole before any answer): once
/// that holds a final response head, the write ends early. A write error with no
/// response to show is the error.
pub(super) async fn write_watching<S: Stream>(
    io: &mut S,
    mut a: &[u8],
    mut b: &[u8],
    got: &mut Vec<u8>,
    req: Asked,
) -> io::Result<Wrote> {
    let mut failed: Option<io::Error> = None;
    poll_fn(|cx| {
        loop {
            if failed.is_none() {
                let p = if a.is_empty() && b.is_empty() {
                    match Pin::new(&mut *io).poll_flush(cx) {
                        Poll::Ready(Ok(())) => return Poll::Ready(Ok(Wrote::All)),
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                } else if a.is_empty() {
                    Pin::new(&mut *io).poll_write(cx, b)
                } else if b.is_empty() {
                    Pin::new(&mut *io).poll_write(cx, a)
                } else {
                    Pin::new(&mut *io).poll_write_vectored(cx, &[IoSlice::new(a), IoSlice::new(b)])
                };
                match p {
                    Poll::Ready(Ok(0)) if !(a.is_empty() && b.is_empty()) => {
                        failed = Some(io::ErrorKind::WriteZero.into());
                    }
                    Poll::Ready(Ok(n)) => {
                        let from_a = n.min(a.len());
                        a = &a[from_a..];
                        b = &b[n - from_a..];
                        continue;
                    }
                    Poll::Ready(Err(e)) => failed = Some(e),
                    Poll::Pending => {}
                }
            }
            // The write waits or failed: has the server answered?
            let mut chunk = [0u8; WATCH_READ];
            let mut rb = ReadBuf::new(&mut chunk);
            match Pin::new(&mut *io).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if !rb.filled().is_empty() => {
                    got.extend_from_slice(rb.filled());
                    if answered(got, req) {
                        return Poll::Ready(Ok(Wrote::Early));
                    }
                }
                // With the write failed, nothing more is coming that could answer it.
                Poll::Ready(_) | Poll::Pending if failed.is_some() => {
                    return Poll::Ready(Err(failed.take().expect("checked")));
                }
                // The server closed its side: the write goes on until it fails.
                Poll::Ready(Ok(())) => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await
}

/// Whether `got` is the start of an answer for the head's reader to take over: a final
/// response head (after any 1xx ones), or bytes it will refuse (malformed, or more than
/// a head may hold), which it names.
fn answered(got: &[u8], req: Asked) -> bool {
    let mut pos = 0;
    loop {
        match parse_head(&got[pos..], req, false) {
            Ok(Parsed::Final(_)) | Err(_) => return true,
            Ok(Parsed::Interim(used)) => pos += used,
            Ok(Parsed::Partial) => return got.len() - pos >= MAX_HEAD,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_a_final_head_or_bytes_the_head_reader_refuses() {
        let get = Asked {
            head: false,
            close: false,
        };
        for (got, is) in [
            (&b"HTTP/1.1 413 Too Large\r\n\r\n"[..], true),
            (b"HTTP/1.1 413 Too Lar", false),
            // An interim response is not the answer; what follows it may be.
            (b"HTTP/1.1 100 Continue\r\n\r\n", false),
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 No\r\n\r\n",
                true,
            ),
            (b"garbage\r\n\r\n", true),
        ] {
            assert_eq!(answered(got, get), is, "{}", String::from_utf8_lossy(got));
        }
        // A head that never ends is refused once it outgrows the limit.
        let mut long = b"HTTP/1.1 200 OK\r\n".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        assert!(answered(&long, get));
    }
}
