//! An origin (scheme, host, port): what connections are kept and checked by.

use std::fmt;

use url::Url;

use super::{ClientError, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(url: &Url) -> Result<Origin, ClientError> {
        let (https, host, port) = Origin::parts(url)?;
        Ok(Origin {
            https,
            host: host.to_string(),
            port,
        })
    }

    /// Whether `url` is on this origin; allocates nothing, unlike [`Origin::of`].
    pub fn is(&self, url: &Url) -> bool {
        Origin::parts(url).is_ok_and(|(https, host, port)| {
            https == self.https && port == self.port && host == self.host
        })
    }

    /// Whether `url` is https, its host (bare: IPv6 literals come bracketed from `url`,
    /// name resolution wants them without) and its port.
    fn parts(url: &Url) -> Result<(bool, &str, u16), ClientError> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            s => {
                return Err(ClientError::new(
                    ErrorKind::InvalidUrl,
                    format!("{url}: scheme {s:?} is not http or https"),
                ));
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| ClientError::new(ErrorKind::InvalidUrl, format!("{url}: no host")))?;
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok((
            https,
            host.trim_start_matches('[').trim_end_matches(']'),
            port,
        ))
    }
}

impl Origin {
    /// `host:port`, the port always written (as allowlist entries name them).
    pub fn host_port_always(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `host[:port]` as a Host header carries it (default ports omitted).
    pub fn host_port(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}
