//! The request side of HTTP/1.1: a request head written field by field, each field
//! checked so nothing a scenario sets can break the message.

use http::Method;

/// What of the request matters for reading its response.
#[derive(Debug, Clone, Copy)]
pub(in crate::client) struct Asked {
    pub head: bool,
    pub close: bool,
}

/// A request head being written: the request line, then [`RequestHead::field`] per
/// field.
pub(in crate::client) struct RequestHead {
    pub(super) buf: Vec<u8>,
    pub(super) sent: Asked,
}

impl RequestHead {
    /// Starts with the request line; `target` is the URL's path and query (`url` keeps
    /// them percent-encoded, so they hold no space or control byte). The buffer goes on
    /// to take the response, so `capacity` is sized for that.
    pub fn new(method: &Method, target: &str, capacity: usize) -> RequestHead {
        let target = if target.is_empty() { "/" } else { target };
        let mut buf = Vec::with_capacity(capacity);
        buf.extend_from_slice(method.as_str().as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(target.as_bytes());
        buf.extend_from_slice(b" HTTP/1.1\r\n");
        RequestHead {
            buf,
            sent: Asked {
                head: method == Method::HEAD,
                close: false,
            },
        }
    }

    #[cfg(test)]
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Adds a header field after checking it cannot break the message: a name of token
    /// characters, a value without control bytes (tab aside). Says which is bad.
    pub fn field(&mut self, name: &str, value: &[u8]) -> Result<(), &'static str> {
        if name.is_empty() || !name.bytes().all(|b| TOKEN[b as usize]) {
            return Err("header name");
        }
        // A fold without early exit: values are short, and this compiles branch-free.
        let bad = value.iter().fold(false, |bad, &b| {
            bad | ((b < 0x20 && b != b'\t') | (b == 0x7f))
        });
        if bad {
            return Err("header value");
        }
        // After a body the scenario framed itself (Transfer-Encoding), the connection is
        // not trusted to be in step with the server: closed rather than reused.
        if (name.eq_ignore_ascii_case("connection") && has_token(value, b"close"))
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            self.sent.close = true;
        }
        self.checked_field(name, value);
        Ok(())
    }

    /// Adds a field the host made from values it has checked (not Connection or
    /// Transfer-Encoding, which [`Self::field`] watches for).
    pub fn checked_field(&mut self, name: &str, value: &[u8]) {
        self.buf.reserve(name.len() + value.len() + 4);
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
    }
}

/// RFC 9110 token characters, the bytes a field name may hold.
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// Whether a comma-separated header value lists `token` (case-insensitive).
pub(super) fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_are_written_and_checked() {
        let mut h = RequestHead::new(&Method::HEAD, "", 64);
        h.field("x-a", b"1\t2").unwrap();
        h.field("Connection", b"keep-alive, Close").unwrap();
        assert_eq!(
            String::from_utf8(h.buf.clone()).unwrap(),
            "HEAD / HTTP/1.1\r\nx-a: 1\t2\r\nConnection: keep-alive, Close\r\n"
        );
        assert!(h.sent.head && h.sent.close);
        // Nothing that could end a line or the head gets through.
        assert_eq!(h.field("x-b", b"1\r\nx-evil: 1"), Err("header value"));
        assert_eq!(h.field("x b", b"1"), Err("header name"));
        assert_eq!(h.field("x:b", b"1"), Err("header name"));
        assert_eq!(h.field("", b"1"), Err("header name"));
        assert_eq!(h.field("x-c", b"\x7f"), Err("header value"));
        let mut h = RequestHead::new(&Method::GET, "/a?b=1", 64);
        assert!(h.buf.starts_with(b"GET /a?b=1 HTTP/1.1\r\n"));
        assert!(!h.sent.head && !h.sent.close);
        h.field("Transfer-Encoding", b"chunked").unwrap();
        assert!(h.sent.close);
    }
}
