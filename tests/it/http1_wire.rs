//! The VU client's HTTP/1.1 framing against a raw server on 127.0.0.1 that answers
//! each connection from a script: chunked and close-delimited bodies, an unsolicited
//! 100 Continue, HEAD, and a kept-alive connection the server closed meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use stampede::client::{ClientConfig, Request, Response, SystemResolver, VuClient, tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves each accepted connection the responses of `script` in order, one per
/// request head read, then closes it. Returns the base URL and the accept count.
async fn scripted(script: Vec<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = Arc::new(AtomicUsize::new(0));
    let a = accepts.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            let script = script.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                for resp in script {
                    // Read one request head (these requests have no body).
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut chunk = [0u8; 1024];
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    if s.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), accepts)
}

fn client() -> VuClient {
    let cfg = ClientConfig::new(tls::client_config(&[] as &[&str], false).unwrap());
    VuClient::new(Arc::new(cfg), Arc::new(SystemResolver))
}

fn request(url: &str, method: http::Method) -> Request {
    Request {
        method,
        url: Arc::new(url.parse().unwrap()),
        headers: vec![],
        body: Bytes::new(),
        timeout: Some(Duration::from_secs(5)),
        read_body: true,
        read_headers: false,
        follow_redirects: true,
    }
}

async fn get(c: &mut VuClient, url: &str, method: http::Method) -> Response {
    let req = request(url, method);
    c.send(req).await.0.unwrap_or_else(|e| panic!("{url}: {e}"))
}

#[tokio::test]
async fn chunked_bodies_are_decoded_and_the_connection_is_reused() {
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let (base, accepts) = scripted(vec![chunked, chunked]).await;
    let mut c = client();
    for _ in 0..2 {
        let r = get(&mut c, &format!("{base}/c"), http::Method::GET).await;
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world"[..]));
        assert_eq!(r.body_size, 11);
    }
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_close_delimited_body_is_read_to_the_end_and_not_reused() {
    let close = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
    let (base, accepts) = scripted(vec![close]).await;
    let mut c = client();
    for _ in 0..2 {
        let r = get(&mut c, &format!("{base}/x"), http::Method::GET).await;
        assert_eq!(r.body.as_slice(), b"until the end");
    }
    assert_eq!(accepts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn informational_responses_are_skipped_and_head_has_no_body() {
    let with_100 =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    // A HEAD response announces a length but carries no body.
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    let after = "HTTP/1.1 204 No Content\r\n\r\n";
    let (base, accepts) = scripted(vec![with_100, head, after]).await;
    let mut c = client();
    let r = get(&mut c, &format!("{base}/a"), http::Method::GET).await;
    assert_eq!((r.status, r.body.as_slice()), (201, &b"ok"[..]));
    let r = get(&mut c, &format!("{base}/b"), http::Method::HEAD).await;
    assert_eq!((r.status, r.body_size), (200, 0));
    let r = get(&mut c, &format!("{base}/c"), http::Method::GET).await;
    assert_eq!(r.status, 204);
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_kept_alive_connection_the_server_closed_is_replaced() {
    // The server answers one request per connection, then closes it without saying so.
    let once = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none";
    let (base, accepts) = scripted(vec![once]).await;
    let mut c = client();
    let r = get(&mut c, &format!("{base}/1"), http::Method::GET).await;
    assert_eq!(r.body.as_slice(), b"one");
    // Right away: the request goes out on the dead connection and is retried once.
    let r = get(&mut c, &format!("{base}/2"), http::Method::GET).await;
    assert_eq!(r.body.as_slice(), b"one");
    // After a pause: the idle check finds the close before sending.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = get(&mut c, &format!("{base}/3"), http::Method::GET).await;
    assert_eq!(r.body.as_slice(), b"one");
    assert_eq!(accepts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_response_cut_short_is_a_protocol_error() {
    let short = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    let (base, _) = scripted(vec![short]).await;
    let mut c = client();
    let req = request(&format!("{base}/short"), http::Method::GET);
    let err = c.send(req).await.0.unwrap_err();
    assert_eq!(err.kind, stampede::metrics::ErrorKind::Protocol);
    assert!(
        err.message.contains("before the body was complete"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_an_upload_before_its_body_is_read_is_the_response() {
    // The server reads the request head only, answers 413 and stops reading: the
    // client's writes of a 16 MiB body then wait on full socket buffers. Only a client
    // that reads while it writes sees the answer; the server closes 10 s later.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 1024];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let answer = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!";
        let _ = s.write_all(answer.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let mut req = request(&format!("http://{addr}/upload"), http::Method::POST);
    req.body = Bytes::from(vec![b'u'; 16 << 20]);
    req.timeout = Some(Duration::from_secs(30));
    let mut c = client();
    let (res, m) = c.send(req).await;
    let res = res.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((res.status, &res.body[..]), (413, &b"too big!"[..]));
    // The request was cut short: fewer bytes went out than the body holds.
    assert!(m.bytes_sent < 16 << 20, "{}", m.bytes_sent);
}
