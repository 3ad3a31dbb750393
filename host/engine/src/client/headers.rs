//! Header assembly: the scenario's fields checked for the wire, with the host's own
//! (Host, Content-Length, User-Agent, Accept-Encoding, the jar's cookies) where the
//! scenario did not set them, as an HTTP/1 head or an HTTP/2 request.

use std::io::Write;

use http::Method;
use http::header::{HeaderName, HeaderValue};
use url::Url;

use super::cookies::Jar;
use super::types::ClientConfig;
use super::{ClientError, ErrorKind, body, h1};

/// What a request's head is built from besides the request itself.
pub(super) struct Heads<'a> {
    pub config: &'a ClientConfig,
    /// The VU's cookies, once it has any.
    pub jar: Option<&'a Jar>,
    /// Capacity for the head's buffer, which goes on to take the response.
    pub read_hint: usize,
}

impl Heads<'_> {
    /// An HTTP/1.1 request head, ready for the wire.
    pub fn h1_head(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(String, String)],
        body_len: usize,
        host: &HeaderValue,
    ) -> Result<h1::RequestHead, ClientError> {
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        // The buffer goes on to take the response: sized for that as well.
        let mut head = h1::RequestHead::new(method, target, self.read_hint);
        // A length of the scenario's own must be the body's: another would make the
        // server read part of the body as a next request on this connection.
        let mut lengths = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        if let Some((_, v)) = lengths.next() {
            let v = v.trim();
            let matches = v.bytes().all(|b| b.is_ascii_digit()) && v.parse() == Ok(body_len);
            if !matches || lengths.next().is_some() {
                return Err(ClientError::new(
                    ErrorKind::InvalidUrl,
                    format!(
                        "content-length {v:?} set by the scenario does not match the body's {body_len} bytes (leave it out: the host sets it)"
                    ),
                ));
            }
        }
        // HTTP/1 bodies go with their length (HTTP/2 frames carry their own).
        let wants_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        let length = (body_len > 0 || wants_body).then_some(body_len);
        self.fields(
            url,
            headers,
            Some(host),
            length,
            &mut |name, value, checked| {
                if checked == Checked::Yes {
                    head.checked_field(name, value);
                    return Ok(());
                }
                head.field(name, value)
                    .map_err(|what| bad_field(what, name, value))
            },
        )?;
        Ok(head)
    }

    /// An HTTP/2 request (absolute URI: hyper sends it as :authority and :path).
    pub fn h2_request(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(String, String)],
    ) -> Result<http::Request<()>, ClientError> {
        let mut b = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str());
        let hdrs = b.headers_mut().expect("fresh builder");
        self.fields(url, headers, None, None, &mut |name, value, _| {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad_field("header name", name, value))?;
            let v = HeaderValue::from_bytes(value)
                .map_err(|_| bad_field("header value", name, value))?;
            hdrs.append(n, v);
            Ok(())
        })?;
        b.body(())
            .map_err(|e| ClientError::new(ErrorKind::InvalidUrl, format!("invalid request: {e}")))
    }

    /// Hands `emit` the request's header fields: the scenario's own, then those it did
    /// not set itself (Host when given, Content-Length when given, User-Agent,
    /// Accept-Encoding), then the cookie jar's merged with any Cookie the scenario set.
    fn fields(
        &self,
        url: &Url,
        headers: &[(String, String)],
        host: Option<&HeaderValue>,
        length: Option<usize>,
        emit: &mut EmitField<'_>,
    ) -> Result<(), ClientError> {
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let jar = if let Some(cookies) = self.jar {
            let mut jar = String::new();
            for (n, v) in cookies.request_values(url) {
                if !jar.is_empty() {
                    jar.push_str("; ");
                }
                jar.push_str(n);
                jar.push('=');
                jar.push_str(v);
            }
            Some(jar).filter(|j| !j.is_empty())
        } else {
            None
        };
        for (k, v) in headers {
            if jar.is_none() || !k.eq_ignore_ascii_case("cookie") {
                emit(k, v.as_bytes(), Checked::No)?;
            }
        }
        if let Some(host) = host
            && !has("host")
        {
            emit("host", host.as_bytes(), Checked::Yes)?;
        }
        if let Some(n) = length
            && !has("content-length")
            && !has("transfer-encoding")
        {
            // Formatted on the stack: this runs for every request with a body.
            let mut digits = [0u8; 20];
            let mut w = &mut digits[..];
            let _ = write!(w, "{n}");
            let len = 20 - w.len();
            emit("content-length", &digits[..len], Checked::Yes)?;
        }
        if !has("user-agent") {
            emit(
                "user-agent",
                self.config.user_agent.as_bytes(),
                Checked::Yes,
            )?;
        }
        if !has("accept-encoding") {
            emit("accept-encoding", body::ACCEPT_ENCODING, Checked::Yes)?;
        }
        if let Some(jar) = jar {
            let mut all = String::new();
            for (_, v) in headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            {
                all.push_str(v);
                all.push_str("; ");
            }
            all.push_str(&jar);
            emit("cookie", all.as_bytes(), Checked::No)?;
        }
        Ok(())
    }
}

/// A header field the scenario set that cannot go on the wire.
fn bad_field(what: &str, name: &str, value: &[u8]) -> ClientError {
    let shown = String::from_utf8_lossy(&value[..value.len().min(60)]);
    ClientError::new(
        ErrorKind::InvalidUrl,
        format!("invalid {what}: {name:?}: {shown:?}"),
    )
}

/// Receives one header field (name, value) of a request being built.
/// Takes a field's name and value, and whether they still need checking: those the
/// host made from values it has checked already (host, length, defaults) do not.
type EmitField<'a> = dyn FnMut(&str, &[u8], Checked) -> Result<(), ClientError> + 'a;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Checked {
    Yes,
    No,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn request_heads_add_defaults_and_merge_cookies() {
        let tls = super::super::tls::client_config(&[] as &[&str], false).unwrap();
        let config = ClientConfig::new(tls);
        let mut jar = Jar::new(Arc::default());
        let url = Url::parse("http://127.0.0.1:8080/p?q=1").unwrap();
        let host = HeaderValue::from_static("127.0.0.1:8080");
        let text = |jar: Option<&Jar>, headers: &[(&str, &str)], len: usize, method: Method| {
            let headers: Vec<_> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let heads = Heads {
                config: &config,
                jar,
                read_hint: 1024,
            };
            heads
                .h1_head(&method, &url, &headers, len, &host)
                .map(|h| String::from_utf8(h.into_bytes()).unwrap())
        };
        let ua = config.user_agent.to_str().unwrap().to_string();
        assert_eq!(
            text(None, &[("x-a", "1")], 0, Method::GET).unwrap(),
            format!(
                "GET /p?q=1 HTTP/1.1\r\nx-a: 1\r\nhost: 127.0.0.1:8080\r\nuser-agent: {ua}\r\naccept-encoding: gzip, deflate, br, zstd\r\n"
            )
        );
        // The scenario's own Host, User-Agent and Accept-Encoding win; a POST has a length.
        let own = [
            ("Host", "api.test"),
            ("User-Agent", "me"),
            ("Accept-Encoding", "br"),
        ];
        assert_eq!(
            text(None, &own, 0, Method::POST).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nHost: api.test\r\nUser-Agent: me\r\nAccept-Encoding: br\r\ncontent-length: 0\r\n"
        );
        // The jar's cookies join the scenario's Cookie in one field.
        jar.set("sid=42; Path=/", &url).unwrap();
        let t = text(Some(&jar), &[("Cookie", "a=1")], 3, Method::PUT).unwrap();
        assert!(t.contains("content-length: 3\r\n"), "{t}");
        assert!(t.ends_with("cookie: a=1; sid=42\r\n"), "{t}");
        assert_eq!(t.matches("ookie").count(), 1, "{t}");
        // A length of the scenario's own must be the body's.
        assert!(text(None, &[("Content-Length", "3")], 3, Method::POST).is_ok());
        for bad in ["2", "+3", "3, 3"] {
            let e = text(None, &[("Content-Length", bad)], 3, Method::POST).unwrap_err();
            assert!(
                e.message.contains("does not match the body"),
                "{}",
                e.message
            );
        }
        let two = [("Content-Length", "3"), ("content-length", "3")];
        assert!(text(None, &two, 3, Method::POST).is_err());
        // A field that would break the message is refused, naming it.
        let e = text(None, &[("x-a", "1\r\nx-b: 2")], 0, Method::GET).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidUrl);
        assert!(
            e.message.contains("invalid header value: \"x-a\""),
            "{}",
            e.message
        );
    }
}
