//! What the live outputs cost per request: the same load with nothing live, with
//! `--metrics-listen` scraped every second, and with a remote-write push every second
//! (five times the default rate), alternated round by round.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use stampede::executor::Load;
use stampede::live::{Board, MetricsServer, Pusher, Sink};
use stampede::run::{StopSignals, run};

use crate::harness::*;

/// A sink that answers every request 204, on a thread of its own.
fn sink() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = vec![0u8; 1 << 20];
                // One push per connection: read until the body is in, then answer.
                let mut got = Vec::new();
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
            });
        }
    });
    addr
}

/// Scrapes `addr` once a second until `stop`.
fn scraper(addr: std::net::SocketAddr, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                let _ =
                    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
                let _ = s.read_to_end(&mut Vec::new());
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

pub(crate) fn live_cost(rt: &tokio::runtime::Runtime, addr: &str, cache: &Path) {
    let secs = 4;
    let rw = sink();
    let last_board = std::cell::RefCell::new(None);
    let per_req = |mode: u8| {
        let mut cfg = config(
            addr,
            concurrency(),
            Load::duration(Duration::from_secs(secs)),
            &[("TASKS", "get"), ("NAME", "GET /ok")],
            cache,
        );
        let board = Board::new();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut server = None;
        let mut pusher = None;
        match mode {
            1 => {
                let s = MetricsServer::start("127.0.0.1:0", board.clone()).unwrap();
                scraper(s.local_addr(), stop.clone());
                server = Some(s);
                cfg.live = Some(board.clone());
            }
            2 => {
                let sink = Sink::parse(&format!("prometheus-rw=http://{rw}/api/v1/write")).unwrap();
                pusher =
                    Some(Pusher::start(vec![sink], board.clone(), Duration::from_secs(1)).unwrap());
                cfg.live = Some(board.clone());
            }
            _ => {}
        }
        let c0 = cpu_time();
        let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
        let cpu = (cpu_time() - c0).as_secs_f64() * 1e6 / s.totals.http_reqs as f64;
        *last_board.borrow_mut() = Some((board.clone(), s.totals.http_reqs_rate));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(p) = pusher {
            let failed = p.finish();
            assert!(failed.is_empty(), "{failed:?}");
        }
        drop(server);
        cpu
    };
    let (mut off, mut scraped, mut pushed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        off.push(per_req(0));
        scraped.push(per_req(1));
        pushed.push(per_req(2));
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratios = |on: &[f64]| -> Vec<f64> { on.iter().zip(&off).map(|(a, b)| a / b).collect() };
    println!(
        "live outputs: CPU-µs/req off {:.1}, --metrics-listen scraped every 1s {:.1} ({:.3}x), remote write every 1s {:.1} ({:.3}x) (medians of 5 alternated rounds of {secs}s; the scraper and the sink run in the measured process)",
        median(&off),
        median(&scraped),
        median(&ratios(&scraped)),
        median(&pushed),
        median(&ratios(&pushed)),
    );
    // The same cost without the noise of whole runs: one second's live work (every
    // output's encoding of the final figures) timed alone, against a second of load.
    let (board, rps) = last_board.borrow_mut().take().unwrap();
    let registry = stampede::live::prometheus::registry(board.clone());
    let n = 200;
    let c0 = cpu_time();
    let mut bytes = 0;
    for _ in 0..n {
        let fams = stampede::live::families::families(&board.entries());
        let mut sent = Default::default();
        bytes += stampede::live::remote_write::body(&stampede::live::remote_write::write_request(
            &fams, 0, &mut sent,
        ))
        .len();
        bytes +=
            stampede::live::otlp::body(&stampede::live::otlp::export_request(&fams, 0, 1)).len();
        bytes += stampede::live::prometheus::encode(&registry).len();
    }
    let cycle_us = (cpu_time() - c0).as_secs_f64() * 1e6 / n as f64;
    let load_us_per_s = median(&off) * rps;
    println!(
        "  one second's live work (text + remote write + OTLP, {} bytes): {cycle_us:.0} CPU-µs, {:.4}% of a second of this load ({rps:.0} req/s)",
        bytes / n,
        100.0 * cycle_us / load_us_per_s
    );
}
