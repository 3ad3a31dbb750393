//! One HTTP/2 exchange through hyper's client connection, timed in the phases an HTTP/1
//! exchange has: sending ends when the request's last byte is handed to the connection,
//! waiting when the response head has come.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::client::conn::{TrySendError, http2};

use super::Timings;
use super::body::{BodyError, Out};
use super::error::ErrorKind;

/// Bytes of a request body handed to the connection at a time: HTTP/2's default frame
/// size. hyper asks for the next piece only once the stream has room to send, so the
/// last piece is taken when the rest is nearly out, as the last write of an HTTP/1.1
/// body is.
const PIECE: usize = 16 << 10;

/// A request body, handed over in pieces, that notes when the connection took its last.
pub struct ReqBody {
    data: Bytes,
    /// Where the moment the body was taken goes; only a request with a body has one.
    taken: Option<Arc<OnceLock<Instant>>>,
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.data.is_empty() {
            return Poll::Ready(None);
        }
        let piece = this.data.split_to(this.data.len().min(PIECE));
        if this.data.is_empty()
            && let Some(at) = &this.taken
        {
            let _ = at.set(Instant::now());
        }
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

pub type Sent = Result<http::Response<hyper::body::Incoming>, TrySendError<http::Request<ReqBody>>>;

/// Sends `request` with `body` on the connection `s` and waits for the response head;
/// adds the time to hand the request over to `t.send_us` and the rest to `t.wait_us`.
pub async fn send(
    s: &mut http2::SendRequest<ReqBody>,
    request: http::Request<()>,
    body: &Bytes,
    t: &mut Timings,
) -> Sent {
    let t_send = Instant::now();
    // Only a body needs a note of when it went (one small allocation); a request
    // without one is handed over whole by the call below.
    let taken = (!body.is_empty()).then(|| Arc::new(OnceLock::new()));
    let request = request.map(|()| ReqBody {
        data: body.clone(),
        taken: taken.clone(),
    });
    let pending = s.try_send_request(request);
    let handed = Instant::now();
    // Boxed, as the other HTTP/2 parts: kept out of every request's future, which an
    // HTTP/1 exchange keeps small.
    let result = Box::pin(pending).await;
    let done = Instant::now();
    // A response that came before the body was taken: all of it was sending.
    let sent = match &taken {
        None => handed,
        Some(at) => at.get().copied().unwrap_or(done),
    };
    t.send_us += sent.saturating_duration_since(t_send).as_micros() as u64;
    t.wait_us += done.saturating_duration_since(sent).as_micros() as u64;
    result
}

/// Reads an HTTP/2 body to its end into `out`.
pub async fn read_body(mut body: hyper::body::Incoming, out: &mut Out) -> Result<(), BodyError> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| (ErrorKind::Protocol, e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            out.feed(&data)?;
        }
    }
    Ok(())
}
