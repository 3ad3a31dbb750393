//! A guest's WASI stdout and stderr: lines go to the run's rate-limited log, and the
//! last stderr line is kept so a trap can say what the guest printed (a Rust panic
//! message, say) before it died.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Log lines per second across the whole run; the rest are counted, not printed.
pub const LOG_LINES_PER_SEC: u64 = 20;

/// Run-wide guest log budget. Only atomics: logging never takes a lock.
#[derive(Debug)]
pub struct LogLimiter {
    second: AtomicU64,
    lines: AtomicU64,
    pub suppressed: AtomicU64,
    /// Lines per second let through (`--verbose` lifts the limit).
    pub per_sec: u64,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new(LOG_LINES_PER_SEC)
    }
}

impl LogLimiter {
    pub fn new(per_sec: u64) -> Self {
        LogLimiter {
            second: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            per_sec,
        }
    }

    pub fn allow(&self, now_sec: u64) -> bool {
        if self.second.swap(now_sec, Ordering::Relaxed) != now_sec {
            self.lines.store(0, Ordering::Relaxed);
        }
        if self.lines.fetch_add(1, Ordering::Relaxed) < self.per_sec {
            true
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// Longest line printed or kept; the rest is cut.
const MAX_LINE: usize = 1000;

#[derive(Clone)]
pub struct GuestOutput {
    label: Arc<str>,
    logs: Arc<LogLimiter>,
    run_start: Instant,
    /// Set for stderr: where the last complete line is kept.
    last_line: Option<Arc<Mutex<String>>>,
}

impl GuestOutput {
    pub fn new(
        label: Arc<str>,
        logs: Arc<LogLimiter>,
        run_start: Instant,
        last_line: Option<Arc<Mutex<String>>>,
    ) -> Self {
        GuestOutput {
            label,
            logs,
            run_start,
            last_line,
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.writer())
    }

    // Synchronous, not WASI's default buffered background writer: a trap right after a
    // panic message must find that message already here.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.writer())
    }
}

impl GuestOutput {
    fn writer(&self) -> Writer {
        Writer {
            out: self.clone(),
            pending: Vec::new(),
            lines: [String::new(), String::new()],
        }
    }
}

struct Writer {
    out: GuestOutput,
    /// The unfinished line so far.
    pending: Vec<u8>,
    /// The two latest complete lines (a Rust panic prints its location, then its
    /// message).
    lines: [String; 2],
}

impl Writer {
    fn line(&mut self) {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        // Rust's hint about RUST_BACKTRACE says nothing useful about a guest.
        if let Some(keep) = &self.out.last_line
            && !text.starts_with("note: run with `RUST_BACKTRACE")
            && let Ok(mut k) = keep.lock()
        {
            self.lines.swap(0, 1);
            self.lines[1].clear();
            self.lines[1].push_str(text);
            k.clear();
            k.push_str(self.lines[0].trim());
            if !k.is_empty() {
                k.push(' ');
            }
            k.push_str(text);
        }
        if self.out.logs.allow(self.out.run_start.elapsed().as_secs()) {
            eprintln!("[{}] {text}", self.out.label);
        }
    }
}

impl Writer {
    fn take(&mut self, buf: &[u8]) {
        for &b in buf {
            if b == b'\n' {
                self.line();
            } else if self.pending.len() < MAX_LINE {
                self.pending.push(b);
            }
        }
    }
}

#[async_trait::async_trait]
impl OutputStream for Writer {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[async_trait::async_trait]
impl Pollable for Writer {
    async fn ready(&mut self) {}
}

impl AsyncWrite for Writer {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.pending.is_empty() {
            self.line();
        }
        Poll::Ready(Ok(()))
    }
}
