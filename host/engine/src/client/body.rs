//! Where a response body goes: counted, decoded from its content coding (gzip,
//! deflate, br, zstd) and kept, up to the limit, when the scenario reads it.
//!
//! What the host inflates is bounded whether or not the body is read: a small
//! compressed body must not make the host decode gigabytes outside every guest limit.

use std::io::Write;

use super::ErrorKind;

/// What `Accept-Encoding` offers: exactly the codings decoded here.
pub const ACCEPT_ENCODING: &[u8] = b"gzip, deflate, br, zstd";

/// A content coding the client decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    /// The coding of a `Content-Encoding` value; `None` for identity, an unknown
    /// coding or several stacked (then the body is passed on as it came).
    pub fn parse(value: &[u8]) -> Option<Coding> {
        let v = value.trim_ascii();
        let is = |name: &[u8]| v.eq_ignore_ascii_case(name);
        if is(b"gzip") || is(b"x-gzip") {
            Some(Coding::Gzip)
        } else if is(b"deflate") {
            Some(Coding::Deflate)
        } else if is(b"br") {
            Some(Coding::Brotli)
        } else if is(b"zstd") {
            Some(Coding::Zstd)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// Collects up to `max` bytes when the body is kept; `max` also bounds what is
/// decoded when it is not.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub max: usize,
    pub truncate: bool,
}

pub type BodyError = (ErrorKind, String);

/// Counts the (decoded) body and keeps it when asked.
pub struct Sink {
    keep: bool,
    /// Decoded bytes are bounded even when not kept.
    decoded: bool,
    limit: BodyLimit,
    data: Vec<u8>,
    size: u64,
}

/// The error a sink returns past its limit, told apart from a decoder's own.
#[derive(Debug)]
struct OverLimit;

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("over the body limit")
    }
}

impl std::error::Error for OverLimit {}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let over = |size: u64| size > self.limit.max as u64;
        if self.keep {
            let room = self.limit.max - self.data.len();
            if buf.len() > room {
                if !self.limit.truncate {
                    return Err(std::io::Error::other(OverLimit));
                }
                // Keep the first part; the rest is still read (and counted) so the
                // connection stays usable. A coded body stops being decoded.
                self.data.extend_from_slice(&buf[..room]);
                if self.decoded && over(self.size + buf.len() as u64) {
                    self.size = self.limit.max as u64;
                    return Err(std::io::Error::other(OverLimit));
                }
                self.size += buf.len() as u64;
                return Ok(buf.len());
            }
            self.data.extend_from_slice(buf);
        } else if self.decoded && over(self.size + buf.len() as u64) {
            return Err(std::io::Error::other(OverLimit));
        }
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A body being decoded (boxed as a whole in [`Out`]: decoders hold their windows, and
/// most bodies have none).
#[allow(clippy::large_enum_variant)]
pub enum Decoder {
    Gzip(flate2::write::GzDecoder<Sink>),
    Zlib(flate2::write::ZlibDecoder<Sink>),
    RawDeflate(flate2::write::DeflateDecoder<Sink>),
    Brotli(brotli_decompressor::DecompressorWriter<Sink>),
    Zstd(zstd::stream::write::Decoder<'static, Sink>),
}

impl Decoder {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Decoder::Gzip(d) => d.write_all(data),
            Decoder::Zlib(d) => d.write_all(data),
            Decoder::RawDeflate(d) => d.write_all(data),
            Decoder::Brotli(d) => d.write_all(data),
            Decoder::Zstd(d) => d.write_all(data),
        }
    }

    fn finish(self) -> std::io::Result<Sink> {
        match self {
            Decoder::Gzip(d) => d.finish(),
            Decoder::Zlib(d) => d.finish(),
            Decoder::RawDeflate(d) => d.finish(),
            Decoder::Brotli(d) => d.into_inner().map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "truncated brotli stream")
            }),
            Decoder::Zstd(mut d) => {
                d.flush()?;
                Ok(d.into_inner())
            }
        }
    }
}

/// Where a response body goes.
pub enum Out {
    Plain(Sink),
    /// A coded body whose decoder starts at the first bytes (deflate is told apart
    /// from its zlib wrapper by them).
    Pending(Sink, Coding, Vec<u8>),
    Decoding(Box<Decoder>, Coding),
}

impl Out {
    pub fn new(coding: Option<Coding>, keep: bool, limit: BodyLimit) -> Out {
        let sink = Sink {
            keep,
            decoded: coding.is_some(),
            limit,
            data: Vec::new(),
            size: 0,
        };
        match coding {
            None => Out::Plain(sink),
            Some(c) => Out::Pending(sink, c, Vec::new()),
        }
    }

    fn error(e: std::io::Error, coding: Option<Coding>, limit: BodyLimit) -> BodyError {
        if e.get_ref().is_some_and(|i| i.is::<OverLimit>()) {
            let max = if limit.max.is_multiple_of(1 << 20) {
                format!("{} MiB", limit.max >> 20)
            } else {
                format!("{}-byte", limit.max)
            };
            let what = match coding {
                Some(c) => format!("response body decoded from {} past", c.name()),
                None => "response body larger than".into(),
            };
            return (
                ErrorKind::TooLarge,
                format!(
                    "{what} the {max} limit (--max-body-mib; or --truncate-bodies to keep the first part)"
                ),
            );
        }
        let name = coding.map_or("", Coding::name);
        (ErrorKind::Protocol, format!("bad {name} body: {e}"))
    }

    pub fn feed(&mut self, data: &[u8]) -> Result<(), BodyError> {
        if data.is_empty() {
            return Ok(());
        }
        if let Out::Pending(sink, coding, head) = self {
            // Deflate is told from its zlib wrapper by the first two bytes: wait for them.
            if *coding == Coding::Deflate && head.len() + data.len() < 2 {
                head.extend_from_slice(data);
                return Ok(());
            }
            let (coding, limit) = (*coding, sink.limit);
            let first: Vec<u8> = std::mem::take(head);
            let sink = std::mem::replace(sink, empty_sink());
            let decoder = match coding {
                Coding::Gzip => Decoder::Gzip(flate2::write::GzDecoder::new(sink)),
                // RFC 9110's deflate is the zlib format; some servers send it raw.
                Coding::Deflate if looks_like_zlib(&[&first[..], data].concat()) => {
                    Decoder::Zlib(flate2::write::ZlibDecoder::new(sink))
                }
                Coding::Deflate => Decoder::RawDeflate(flate2::write::DeflateDecoder::new(sink)),
                Coding::Brotli => {
                    Decoder::Brotli(brotli_decompressor::DecompressorWriter::new(sink, 4096))
                }
                Coding::Zstd => Decoder::Zstd(
                    zstd::stream::write::Decoder::new(sink)
                        .map_err(|e| Out::error(e, Some(coding), limit))?,
                ),
            };
            let mut decoder = Box::new(decoder);
            if !first.is_empty() {
                decoder
                    .write_all(&first)
                    .map_err(|e| Out::error(e, Some(coding), limit))?;
            }
            *self = Out::Decoding(decoder, coding);
        }
        match self {
            Out::Plain(s) => s.write_all(data).map_err(|e| Out::error(e, None, s.limit)),
            Out::Decoding(d, c) => {
                let limit = d.limit();
                d.write_all(data)
                    .map_err(|e| Out::error(e, Some(*c), limit))
            }
            Out::Pending(..) => unreachable!("started above"),
        }
    }

    /// The body kept (empty if not wanted) and its decoded size.
    pub fn finish(self) -> Result<(Vec<u8>, u64), BodyError> {
        let sink = match self {
            // A coded body of no bytes (a HEAD, a 204): nothing to decode.
            Out::Plain(s) => s,
            Out::Pending(s, _, head) if head.is_empty() => s,
            Out::Pending(_, c, _) => {
                return Err((
                    ErrorKind::Protocol,
                    format!("bad {} body: truncated", c.name()),
                ));
            }
            Out::Decoding(d, c) => {
                let limit = d.limit();
                d.finish().map_err(|e| Out::error(e, Some(c), limit))?
            }
        };
        Ok((sink.data, sink.size))
    }
}

impl Decoder {
    fn limit(&self) -> BodyLimit {
        match self {
            Decoder::Gzip(d) => d.get_ref().limit,
            Decoder::Zlib(d) => d.get_ref().limit,
            Decoder::RawDeflate(d) => d.get_ref().limit,
            Decoder::Brotli(d) => d.get_ref().limit,
            Decoder::Zstd(d) => d.get_ref().limit,
        }
    }
}

fn empty_sink() -> Sink {
    Sink {
        keep: false,
        decoded: false,
        limit: BodyLimit {
            max: 0,
            truncate: false,
        },
        data: Vec::new(),
        size: 0,
    }
}

/// A zlib header: deflate method, and the check bits RFC 1950 requires.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: BodyLimit = BodyLimit {
        max: 1 << 20,
        truncate: false,
    };

    fn encode(coding: Coding, data: &[u8]) -> Vec<u8> {
        use flate2::Compression;
        match coding {
            Coding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Coding::Deflate => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Coding::Zstd => zstd::stream::encode_all(data, 1).unwrap(),
            Coding::Brotli => {
                let mut out = Vec::new();
                {
                    let mut e = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
                    e.write_all(data).unwrap();
                }
                out
            }
        }
    }

    fn decode(
        coding: Option<Coding>,
        body: &[u8],
        keep: bool,
        limit: BodyLimit,
        split: usize,
    ) -> Result<(Vec<u8>, u64), BodyError> {
        let mut out = Out::new(coding, keep, limit);
        for part in body.chunks(split.max(1)) {
            out.feed(part)?;
        }
        out.finish()
    }

    #[test]
    fn each_coding_decodes_to_the_body_and_its_size_in_any_split() {
        let text: Vec<u8> = (0..50_000u32)
            .flat_map(|i| format!("row {i},").into_bytes())
            .collect();
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            let coded = encode(coding, &text);
            for split in [1, 7, 4096, coded.len()] {
                let (body, size) = decode(Some(coding), &coded, true, LIMIT, split).unwrap();
                assert_eq!(body, text, "{coding:?} split {split}");
                assert_eq!(size, text.len() as u64);
                // Not kept: still the decoded size.
                let (body, size) = decode(Some(coding), &coded, false, LIMIT, split).unwrap();
                assert!(body.is_empty());
                assert_eq!(size, text.len() as u64, "{coding:?}");
            }
        }
        // Raw deflate (no zlib wrapper), as some servers send it.
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&text).unwrap();
        let raw = e.finish().unwrap();
        assert_eq!(
            decode(Some(Coding::Deflate), &raw, true, LIMIT, 100)
                .unwrap()
                .0,
            text
        );
    }

    #[test]
    fn what_the_host_inflates_is_bounded_even_unread() {
        let zeros = vec![0u8; 8 << 20];
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            let bomb = encode(coding, &zeros);
            assert!(bomb.len() < 100_000, "{coding:?} {}", bomb.len());
            let (kind, msg) = decode(Some(coding), &bomb, false, LIMIT, 4096).unwrap_err();
            assert_eq!(kind, ErrorKind::TooLarge, "{msg}");
            assert!(
                msg.contains("--max-body-mib") && msg.contains(coding.name()),
                "{msg}"
            );
            // Truncating keeps the first part and stops decoding.
            let truncate = BodyLimit {
                truncate: true,
                ..LIMIT
            };
            let r = decode(Some(coding), &bomb, true, truncate, 4096);
            assert_eq!(r.unwrap_err().0, ErrorKind::TooLarge);
        }
        // A plain body that is not kept costs no decoding: counted, never refused.
        let (_, size) = decode(None, &zeros, false, LIMIT, 65536).unwrap();
        assert_eq!(size, zeros.len() as u64);
    }

    #[test]
    fn a_corrupt_body_is_a_protocol_error_naming_its_coding() {
        let (kind, msg) =
            decode(Some(Coding::Gzip), b"not gzip at all", true, LIMIT, 4).unwrap_err();
        assert_eq!(kind, ErrorKind::Protocol);
        assert!(msg.starts_with("bad gzip body"), "{msg}");
        assert_eq!(Coding::parse(b" GZIP "), Some(Coding::Gzip));
        assert_eq!(Coding::parse(b"gzip, br"), None);
        assert_eq!(Coding::parse(b"identity"), None);
    }
}
