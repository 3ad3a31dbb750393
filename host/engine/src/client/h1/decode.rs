//! The response side of HTTP/1.1: the head parsed (httparse), the body's framing
//! decided as RFC 9112 section 6 says, and chunked bodies decoded across any split.

use std::mem::MaybeUninit;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Version};

use super::encode::{Asked, has_token};
use super::{Failure, proto};
use crate::client::ErrorKind;
use crate::client::body::BodyError;

/// Largest response head (status line and headers) accepted.
pub(super) const MAX_HEAD: usize = 256 << 10;
/// Most header lines accepted in a response head.
const MAX_HEADERS: usize = 256;
/// Header lines parsed in the common case, in a small array on the stack; a
/// longer head is parsed again with room for `MAX_HEADERS`.
const FEW_HEADERS: usize = 24;
/// Longest chunk-size line or trailer line accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 8 << 10;
/// Bytes of chunk extensions and trailer fields accepted per body, in all: the host
/// reads and skips them, and they count against no body limit (hyper allows 16 KiB of
/// extensions).
pub(super) const MAX_CHUNK_EXTRAS: usize = 64 << 10;
/// How the body after a response head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (or all of it read).
    Empty,
    /// This many bytes still to come.
    Length(u64),
    Chunked(Chunk),
    /// Whatever comes until the server closes the connection.
    Close,
}

/// Where a chunked body's decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// This many bytes of chunk data still to come.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
    Done,
}

/// A response head, parsed.
pub(super) struct ResponseHead {
    /// Bytes of the head.
    pub used: usize,
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub framing: Framing,
    pub close: bool,
}

pub(super) enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A 1xx response of this many bytes, to skip.
    Interim(usize),
    Final(ResponseHead),
}

/// Parses a response head at the start of `data`.
pub(super) fn parse_head(data: &[u8], req: Asked, all_headers: bool) -> Result<Parsed, Failure> {
    let mut few = [MaybeUninit::<httparse::Header>::uninit(); FEW_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, data, &mut few)
    {
        Ok(httparse::Status::Complete(used)) => head_of(&res, used, req, all_headers),
        Ok(httparse::Status::Partial) => Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => parse_long_head(data, req, all_headers),
        Err(e) => Err(proto(format!("malformed response head: {e}"))),
    }
}

/// [`parse_head`] for a head of more than `FEW_HEADERS` lines, with its header array
/// on the heap.
#[inline(never)]
fn parse_long_head(data: &[u8], req: Asked, all_headers: bool) -> Result<Parsed, Failure> {
    let mut many = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut many);
    match res.parse(data) {
        Ok(httparse::Status::Complete(used)) => head_of(&res, used, req, all_headers),
        Ok(httparse::Status::Partial) => Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => Err(proto(format!(
            "response head has more than {MAX_HEADERS} header lines"
        ))),
        Err(e) => Err(proto(format!("malformed response head: {e}"))),
    }
}

/// The framing, reuse and kept headers of a parsed response head (RFC 9112 6.3).
fn head_of(
    res: &httparse::Response,
    used: usize,
    req: Asked,
    all_headers: bool,
) -> Result<Parsed, Failure> {
    let code = res.code.unwrap_or(0);
    let status =
        StatusCode::from_u16(code).map_err(|_| proto(format!("invalid status code {code:03}")))?;
    if status.is_informational() && code != 101 {
        return Ok(Parsed::Interim(used));
    }
    let version = if res.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let mut length: Option<u64> = None;
    let mut coded = false;
    let mut chunked = false;
    let (mut close, mut keep_alive) = (false, false);
    let mut headers = HeaderMap::new();
    for h in res.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value;
        if name.eq_ignore_ascii_case(b"content-length") {
            for part in value.split(|&b| b == b',') {
                let digits = part.trim_ascii();
                let n = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
                    .then(|| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| proto("invalid content-length in the response"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(proto("conflicting content-length values in the response"));
                }
                length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Chunked only if it is the last coding applied.
            coded = true;
            chunked = value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            close |= has_token(value, b"close");
            keep_alive |= has_token(value, b"keep-alive");
        }
        let acted_on = name.eq_ignore_ascii_case(b"set-cookie")
            || name.eq_ignore_ascii_case(b"location")
            || name.eq_ignore_ascii_case(b"content-encoding");
        if all_headers || acted_on {
            let name = HeaderName::from_bytes(name)
                .map_err(|_| proto(format!("invalid header name {:?}", h.name)))?;
            let value = HeaderValue::from_bytes(value)
                .map_err(|_| proto(format!("invalid value of header {name}")))?;
            headers.append(name, value);
        }
    }
    let no_body = req.head
        || code == 101
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = if no_body {
        Framing::Empty
    } else if coded {
        // With a transfer coding a content-length is ignored, and the message is
        // suspect enough not to reuse the connection after it; nor after a transfer
        // coding in HTTP/1.0, which has none (RFC 9112 6.1).
        close |= length.is_some() || !chunked || version == Version::HTTP_10;
        if chunked {
            Framing::Chunked(Chunk::Size)
        } else {
            Framing::Close
        }
    } else {
        match length {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    close |= req.close
        || code == 101
        || framing == Framing::Close
        || (version == Version::HTTP_10 && !keep_alive);
    Ok(Parsed::Final(ResponseHead {
        used,
        status,
        version,
        headers,
        framing,
        close,
    }))
}

/// Decodes what it can of a chunked body from `data`, handing chunk data to `feed`.
/// Returns the bytes consumed (0 when more are needed). `extras` counts the body's
/// chunk-extension and trailer bytes so far, held to [`MAX_CHUNK_EXTRAS`].
pub(super) fn decode_chunked(
    state: &mut Chunk,
    extras: &mut usize,
    data: &[u8],
    feed: &mut impl FnMut(&[u8]) -> Result<(), BodyError>,
) -> Result<usize, BodyError> {
    let bad = |what: &str| (ErrorKind::Protocol, format!("bad chunked body: {what}"));
    let mut used = 0;
    let spend = |extras: &mut usize, n: usize| {
        *extras += n;
        if *extras > MAX_CHUNK_EXTRAS {
            return Err(bad(&format!(
                "more than {} KiB of chunk extensions and trailers",
                MAX_CHUNK_EXTRAS >> 10
            )));
        }
        Ok(())
    };
    loop {
        let rest = &data[used..];
        match *state {
            Chunk::Done => return Ok(used),
            // httparse reads a line with no digits as size 0, the last chunk: a stray
            // line would end the body early and desynchronise the connection.
            Chunk::Size if rest.is_empty() => return Ok(used),
            Chunk::Size if !rest[0].is_ascii_hexdigit() => {
                return Err(bad("invalid chunk size line"));
            }
            Chunk::Size => match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete((n, size))) => {
                    // The line past its digits and CRLF: an extension, or padding.
                    let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
                    spend(extras, n.saturating_sub(digits + 2))?;
                    used += n;
                    *state = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                }
                Ok(httparse::Status::Partial) if rest.len() < MAX_CHUNK_LINE => return Ok(used),
                _ => return Err(bad("invalid chunk size line")),
            },
            Chunk::Data(left) => {
                let n = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                if n == 0 {
                    return Ok(used);
                }
                feed(&rest[..n])?;
                used += n;
                *state = if left == n as u64 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left - n as u64)
                };
            }
            Chunk::DataEnd => {
                if rest.len() < 2 {
                    return Ok(used);
                }
                if &rest[..2] != b"\r\n" {
                    return Err(bad("chunk data longer than its size"));
                }
                used += 2;
                *state = Chunk::Size;
            }
            Chunk::Trailers => match rest.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    used += 2;
                    *state = Chunk::Done;
                }
                // A trailer field: skipped, once it looks like one.
                Some(i) if i < MAX_CHUNK_LINE && rest[..i].contains(&b':') => {
                    spend(extras, i + 2)?;
                    used += i + 2;
                }
                Some(i) if i < MAX_CHUNK_LINE => return Err(bad("invalid trailer line")),
                None if rest.len() < MAX_CHUNK_LINE => return Ok(used),
                _ => return Err(bad("trailer line too long")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: Asked = Asked {
        head: false,
        close: false,
    };

    fn head(text: &str, req: Asked) -> ResponseHead {
        match parse_head(text.as_bytes(), req, true) {
            Ok(Parsed::Final(h)) => h,
            Ok(Parsed::Partial) => panic!("partial: {text:?}"),
            Ok(Parsed::Interim(n)) => panic!("interim of {n} bytes: {text:?}"),
            Err(Failure::Protocol(m) | Failure::NoResponse { message: m, .. }) => {
                panic!("{m}: {text:?}")
            }
        }
    }

    fn error(text: &str) -> String {
        match parse_head(text.as_bytes(), GET, false) {
            Err(Failure::Protocol(m)) => m,
            _ => panic!("no protocol error for {text:?}"),
        }
    }

    #[test]
    fn response_heads_are_framed_as_rfc_9112_says() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", GET);
        assert_eq!(h.used, 38);
        assert_eq!((h.framing, h.close), (Framing::Length(5), false));
        assert_eq!(h.headers["content-length"], "5");

        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", GET);
        assert_eq!((h.framing, h.close), (Framing::Empty, false));
        // HEAD, 204 and 304 have no body whatever their content-length says.
        let h = head(
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
            Asked {
                head: true,
                close: false,
            },
        );
        assert_eq!(h.framing, Framing::Empty);
        for s in ["204 No Content", "304 Not Modified"] {
            let h = head(&format!("HTTP/1.1 {s}\r\nContent-Length: 9\r\n\r\n"), GET);
            assert_eq!((h.framing, h.close), (Framing::Empty, false), "{s}");
        }

        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
            GET,
        );
        assert_eq!((h.framing, h.close), (Framing::Chunked(Chunk::Size), false));
        // A transfer coding wins over a content-length, and the connection is not reused.
        let h = head(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            GET,
        );
        assert_eq!((h.framing, h.close), (Framing::Chunked(Chunk::Size), true));
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", GET);
        assert_eq!((h.framing, h.close), (Framing::Close, true));
        // Neither: the body runs to the end of the stream.
        let h = head("HTTP/1.1 200 OK\r\n\r\n", GET);
        assert_eq!((h.framing, h.close), (Framing::Close, true));
    }

    #[test]
    fn connection_reuse_follows_version_and_connection_tokens() {
        let reuse = |text: &str, req: Asked| !head(text, req).close;
        assert!(reuse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", GET));
        assert!(!reuse(
            "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n",
            GET
        ));
        assert!(!reuse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", GET));
        assert!(!reuse(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
            GET
        ));
        assert!(reuse(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            GET
        ));
        let close = Asked {
            head: false,
            close: true,
        };
        assert!(!reuse(
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            close
        ));
    }

    #[test]
    fn heads_are_partial_interim_long_or_malformed() {
        let partial = |t: &str| matches!(parse_head(t.as_bytes(), GET, false), Ok(Parsed::Partial));
        assert!(partial("HTTP/1.1 200 OK\r\nContent-Len"));
        assert!(partial("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"));
        let interim = "HTTP/1.1 100 Continue\r\n\r\n";
        assert!(matches!(
            parse_head(interim.as_bytes(), GET, false),
            Ok(Parsed::Interim(n)) if n == interim.len()
        ));
        // More header lines than fit the stack array: parsed again on the heap.
        let mut long = "HTTP/1.1 200 OK\r\n".to_string();
        for i in 0..100 {
            long.push_str(&format!("x-h{i}: {i}\r\n"));
        }
        long.push_str("Content-Length: 2\r\n\r\n");
        let h = head(&long, GET);
        assert_eq!((h.framing, h.headers.len()), (Framing::Length(2), 101));
        for _ in 0..200 {
            long.insert_str(17, "x-more: 1\r\n");
        }
        assert!(error(&long).contains("more than 256 header lines"));

        assert!(error("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n").contains("conflicting"));
        for bad in ["-1", "+5", "0x5", ""] {
            let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert!(error(&text).contains("invalid content-length"), "{bad:?}");
        }
        assert!(error("HTTP/1.1 20 OK\r\n\r\n").contains("malformed"));
        assert!(error("SMTP ready\r\n\r\n").contains("malformed"));
        // Without `all_headers` only the headers the client acts on are kept.
        let text = "HTTP/1.1 302 Found\r\nLocation: /x\r\nSet-Cookie: a=1\r\nX-Other: 1\r\nContent-Length: 0\r\n\r\n";
        let Ok(Parsed::Final(h)) = parse_head(text.as_bytes(), GET, false) else {
            panic!("not parsed")
        };
        let mut names: Vec<_> = h.headers.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(names, ["location", "set-cookie"]);
        assert_eq!(h.status, StatusCode::FOUND);
    }

    /// Decodes `body` fed in pieces of `step` bytes, as reads would deliver it.
    fn dechunk(body: &[u8], step: usize) -> Result<(Vec<u8>, usize), BodyError> {
        let mut state = Chunk::Size;
        let mut extras = 0;
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let (mut pos, mut fed) = (0, 0);
        while state != Chunk::Done {
            let used = decode_chunked(&mut state, &mut extras, &buf[pos..], &mut |d: &[u8]| {
                out.extend_from_slice(d);
                Ok(())
            })?;
            pos += used;
            if used == 0 {
                if fed == body.len() {
                    return Err((ErrorKind::Protocol, "ran out".into()));
                }
                let end = (fed + step).min(body.len());
                buf.extend_from_slice(&body[fed..end]);
                fed = end;
            }
        }
        Ok((out, buf.len() - pos + body.len() - fed))
    }

    #[test]
    fn chunked_bodies_decode_across_any_split() {
        let body = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        for step in 1..body.len() {
            let (out, left) = dechunk(body, step).unwrap();
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.", "step {step}");
            // What follows the body is left unread (and keeps the connection from reuse).
            assert_eq!(left, 4, "step {step}");
        }
        assert!(
            dechunk(b"zz\r\nabc\r\n0\r\n\r\n", 64)
                .unwrap_err()
                .1
                .contains("chunk size")
        );
        assert!(
            dechunk(b"2\r\nabc\r\n0\r\n\r\n", 64)
                .unwrap_err()
                .1
                .contains("longer than its size")
        );
        assert!(dechunk(b"2\r\nab\r\n", 64).is_err());
        // A stray empty line is not a last chunk, nor a stray line a trailer.
        let stray = b"5\r\nhello\r\n\r\n5\r\nworld\r\n0\r\n\r\n";
        for step in [1, 3, 64] {
            assert!(dechunk(stray, step).unwrap_err().1.contains("chunk size"));
        }
        let odd = b"1\r\na\r\n0\r\nnot a trailer\r\n\r\n";
        assert!(dechunk(odd, 64).unwrap_err().1.contains("trailer"));
    }

    #[test]
    fn chunk_extensions_and_trailers_are_bounded_in_all() {
        // Within the bound: decoded as usual.
        let ext = format!(";e={}", "x".repeat(1000));
        let mut ok = Vec::new();
        for _ in 0..60 {
            ok.extend_from_slice(format!("1{ext}\r\na\r\n").as_bytes());
        }
        ok.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(dechunk(&ok, 4096).unwrap().0.len(), 60);
        // One data byte per 1 KB of extension, without end: refused at the bound, not
        // read until the timeout.
        let mut flood = Vec::new();
        for _ in 0..100 {
            flood.extend_from_slice(format!("1{ext}\r\na\r\n").as_bytes());
        }
        let e = dechunk(&flood, 4096).unwrap_err().1;
        assert!(
            e.contains("more than 64 KiB of chunk extensions and trailers"),
            "{e}"
        );
        // Trailer fields count too.
        let mut trailers = b"1\r\na\r\n0\r\n".to_vec();
        for i in 0..100 {
            trailers.extend_from_slice(format!("x-t{i}: {}\r\n", "v".repeat(1000)).as_bytes());
        }
        trailers.extend_from_slice(b"\r\n");
        let e = dechunk(&trailers, 4096).unwrap_err().1;
        assert!(e.contains("64 KiB"), "{e}");
    }
}
