//! Opening one connection: DNS, TCP, TLS and the HTTP handshake, each timed, over a
//! stream that counts the bytes on the wire.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::ErrorKind;
use super::{ClientError, Origin};

/// Wire bytes of one connection, shared between the connection task and its owner.
#[derive(Debug, Default)]
pub struct ByteCounts {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// How far requests have claimed the counts: an HTTP/2 connection carries several
    /// requests at once, and each byte is one request's.
    claimed_sent: AtomicU64,
    claimed_received: AtomicU64,
}

impl ByteCounts {
    /// The bytes (sent, received) no request has claimed yet, for the request ending
    /// now. On HTTP/1.1 these are its own; on HTTP/2, whose requests overlap, each byte
    /// goes to the first request to end after it crossed, so none is counted twice.
    pub fn claim(&self) -> (u64, u64) {
        let take = |total: &AtomicU64, claimed: &AtomicU64| {
            let now = total.load(Ordering::Relaxed);
            now.saturating_sub(claimed.fetch_max(now, Ordering::Relaxed))
        };
        (
            take(&self.sent, &self.claimed_sent),
            take(&self.received, &self.claimed_received),
        )
    }
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A TCP or TLS stream that counts what crosses it (k6's data_sent / data_received).
pub struct CountingStream {
    inner: Inner,
    counts: Arc<ByteCounts>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let res = match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            this.counts.received.fetch_add(n, Ordering::Relaxed);
        }
        res
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let res = match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        };
        if let Poll::Ready(Ok(n)) = res {
            this.counts.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let res = match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        };
        if let Poll::Ready(Ok(n)) = res {
            this.counts.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Plain(s) => s.is_write_vectored(),
            Inner::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How requests go out on a connection: HTTP/1.1 on the stream itself, in the VU's
/// task ([`super::h1`]); HTTP/2 through hyper, whose connection task multiplexes.
pub enum Sender {
    H1(CountingStream),
    H2(http2::SendRequest<super::h2::ReqBody>),
}

/// How long a kept-alive HTTP/1 connection may sit unused before it is checked for a
/// close from the server (a check that costs a syscall, so not before every request).
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A live connection of one VU to one origin.
pub struct Conn {
    pub origin: Origin,
    /// `Host` for HTTP/1 requests, built once per connection.
    pub host_header: http::HeaderValue,
    pub sender: Sender,
    pub counts: Arc<ByteCounts>,
    pub last_used: Instant,
}

impl Conn {
    /// Another handle on an HTTP/2 connection, which carries many requests at once (a
    /// batch's requests to one origin share it, as k6's do); `None` for HTTP/1.
    pub fn share(&self) -> Option<Conn> {
        match &self.sender {
            Sender::H2(s) => Some(Conn {
                origin: self.origin.clone(),
                host_header: self.host_header.clone(),
                sender: Sender::H2(s.clone()),
                counts: self.counts.clone(),
                last_used: self.last_used,
            }),
            Sender::H1(_) => None,
        }
    }

    pub fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }

    /// Whether the connection can take another request.
    pub fn usable(&mut self) -> bool {
        match &mut self.sender {
            Sender::H2(s) => !s.is_closed(),
            Sender::H1(io) => self.last_used.elapsed() < CHECK_AFTER_IDLE || still_open(io),
        }
    }
}

/// What establishing a connection cost, in microseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectTimes {
    pub connect_us: u64,
    pub tls_us: u64,
}

fn us(since: Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

/// Resolves, connects and handshakes. The caller applies the request timeout.
pub async fn connect(
    origin: &Origin,
    addr: SocketAddr,
    tls: &TlsConnector,
    times: &mut ConnectTimes,
) -> Result<Conn, ClientError> {
    let start = Instant::now();
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| ClientError::new(ErrorKind::Connect, format!("{}: {e}", origin)))?;
    let _ = tcp.set_nodelay(true);
    times.connect_us = us(start);
    let counts = Arc::new(ByteCounts::default());
    // TLS and the HTTP/2 handshake are boxed futures of their own: their state is
    // large, and inline it would grow the future of every request (built whole, per
    // request), HTTP/1 over TCP included.
    let (inner, h2) = if origin.https {
        tls_handshake(origin, tcp, tls, times).await?
    } else {
        (Inner::Plain(tcp), false)
    };
    let stream = CountingStream {
        inner,
        counts: counts.clone(),
    };
    let sender = if h2 {
        h2_handshake(origin, stream).await?
    } else {
        Sender::H1(stream)
    };
    let host_header = http::HeaderValue::from_str(&origin.host_port())
        .map_err(|e| ClientError::new(ErrorKind::InvalidUrl, format!("{origin}: {e}")))?;
    // What crossed so far (the handshakes) is no request's.
    counts.claim();
    Ok(Conn {
        origin: origin.clone(),
        host_header,
        sender,
        counts,
        last_used: Instant::now(),
    })
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send + 'a>>;

// Built in a function of their own, not inlined: the future is assembled on the stack
// before it is boxed, and only connections that need it should pay for that.
#[inline(never)]
fn tls_handshake<'a>(
    origin: &'a Origin,
    tcp: TcpStream,
    tls: &'a TlsConnector,
    times: &'a mut ConnectTimes,
) -> Boxed<'a, (Inner, bool)> {
    Box::pin(async move {
        let tls_start = Instant::now();
        let name = ServerName::try_from(origin.host.clone()).map_err(|e| {
            ClientError::new(ErrorKind::InvalidUrl, format!("{}: {e}", origin.host))
        })?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| ClientError::new(ErrorKind::Tls, format!("{}: {e}", origin)))?;
        times.tls_us = us(tls_start);
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok((Inner::Tls(Box::new(stream)), h2))
    })
}

#[inline(never)]
fn h2_handshake(origin: &Origin, stream: CountingStream) -> Boxed<'_, Sender> {
    Box::pin(async move {
        let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::new(ErrorKind::Protocol, format!("{origin}: {e}")))?;
        tokio::spawn(conn);
        Ok(Sender::H2(sender))
    })
}

/// Whether an idle connection still looks usable: nothing to read and no end of
/// stream. Does not wait.
fn still_open(io: &mut CountingStream) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    let mut byte = [0u8; 1];
    let mut rb = ReadBuf::new(&mut byte);
    matches!(Pin::new(io).poll_read(&mut cx, &mut rb), Poll::Pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_sharing_a_connection_claim_each_byte_once() {
        let c = ByteCounts::default();
        c.sent.store(100, Ordering::Relaxed);
        c.claim(); // the handshake, as `connect` leaves it out
        // Two requests at once on one HTTP/2 connection: the first to end takes all
        // that crossed until then, the other the rest.
        c.sent.fetch_add(30, Ordering::Relaxed);
        c.received.fetch_add(3, Ordering::Relaxed);
        assert_eq!(c.claim(), (30, 3));
        c.sent.fetch_add(5, Ordering::Relaxed);
        assert_eq!(c.claim(), (5, 0));
        assert_eq!(c.claim(), (0, 0), "nothing twice");
    }
}
