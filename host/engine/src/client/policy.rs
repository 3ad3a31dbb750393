//! The sandbox's network policy: deny by default. A scenario reaches only its target's
//! origin and the hosts allowed by name (`host`, `host:port`, `*.domain`); and, checked
//! again on the resolved address, never a loopback, private, link-local or metadata
//! address unless that address or the target itself was allowed explicitly, so a name
//! that resolves (or is re-bound) to an internal address cannot smuggle a request out.
//! The client connects to the address that was checked, never resolving twice.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use url::Url;

use super::ErrorKind;
use super::{ClientError, Origin, ResolveFuture, Resolver};

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    /// A host name or IP literal, on one port or any.
    Exact { host: String, port: Option<u16> },
    /// `*.domain`: any subdomain (not the domain itself), on one port or any.
    Suffix { domain: String, port: Option<u16> },
}

#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    rules: Vec<Rule>,
    /// The target's host and port: allowed whatever it resolves to.
    target: Option<(String, u16)>,
}

fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    // `[v6]:port`, `[v6]`, `host:port`, `host`.
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{text:?}: unclosed '['"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(parse_port(text, p)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("{text:?}: unexpected {after:?}")),
        };
    }
    match text.rsplit_once(':') {
        // More than one ':' is a bare IPv6 address.
        Some((h, p)) if !h.contains(':') => Ok((h, Some(parse_port(text, p)?))),
        _ => Ok((text, None)),
    }
}

fn parse_port(text: &str, p: &str) -> Result<u16, String> {
    p.parse()
        .map_err(|_| format!("{text:?}: {p:?} is not a port"))
}

/// Addresses a scenario must not reach by accident: loopback, private (RFC 1918, ULA),
/// shared (CGNAT), link-local (which holds the cloud metadata service), unspecified,
/// reserved and multicast; and IPv6 forms that carry such an IPv4 address (mapped,
/// compatible, NAT64, 6to4).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let o = v6.octets();
            let embedded = |at: usize| {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    o[at],
                    o[at + 1],
                    o[at + 2],
                    o[at + 3],
                ))
            };
            // ::ffff:a.b.c.d and ::a.b.c.d
            if let Some(v4) = v6.to_ipv4() {
                return v6.is_loopback() || is_internal(IpAddr::V4(v4));
            }
            // NAT64 (64:ff9b::/96 well-known; 64:ff9b:1::/48 local: all internal).
            if s[0] == 0x64 && s[1] == 0xff9b {
                return s[2] == 1 || is_internal(embedded(12));
            }
            // 6to4: 2002:a.b.c.d::/48.
            if s[0] == 0x2002 {
                return is_internal(embedded(2));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
        }
    }
}

impl NetPolicy {
    /// The target's origin plus each `--allow-host` entry.
    pub fn new(target: Option<&Url>, allow: &[String]) -> Result<NetPolicy, String> {
        let mut p = NetPolicy::default();
        if let Some(t) = target {
            let o = Origin::of(t).map_err(|e| e.message)?;
            p.rules.push(Rule::Exact {
                host: o.host.to_ascii_lowercase(),
                port: Some(o.port),
            });
            p.target = Some((o.host.to_ascii_lowercase(), o.port));
        }
        for a in allow {
            let a = a.trim();
            let (host, port) = split_port(a).map_err(|e| format!("--allow-host {e}"))?;
            let host = host.to_ascii_lowercase();
            if host.is_empty() {
                return Err(format!("--allow-host {a:?}: no host"));
            }
            p.rules.push(match host.strip_prefix("*.") {
                Some(domain) if !domain.is_empty() && !domain.contains('*') => Rule::Suffix {
                    domain: domain.to_string(),
                    port,
                },
                _ if host.contains('*') => {
                    return Err(format!(
                        "--allow-host {a:?}: a wildcard is only allowed as a leading '*.', e.g. *.example.com"
                    ));
                }
                _ => Rule::Exact { host, port },
            });
        }
        Ok(p)
    }

    /// Whether the name and port may be asked for at all.
    pub fn allows(&self, origin: &Origin) -> bool {
        let host = origin.host.to_ascii_lowercase();
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == origin.port);
        self.rules.iter().any(|r| match r {
            Rule::Exact { host: h, port } => *h == host && port_ok(port),
            Rule::Suffix { domain, port } => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                    && port_ok(port)
            }
        })
    }

    /// Whether the address a name resolved to may be connected to.
    pub fn allows_addr(&self, origin: &Origin, addr: SocketAddr) -> bool {
        if !is_internal(addr.ip()) {
            return true;
        }
        let host = origin.host.to_ascii_lowercase();
        if self.target.as_ref() == Some(&(host, origin.port)) {
            return true;
        }
        // The address itself, allowed by an IP-literal entry.
        self.rules.iter().any(|r| match r {
            Rule::Exact { host, port } => {
                host.parse::<IpAddr>().is_ok_and(|ip| ip == addr.ip())
                    && port.is_none_or(|p| p == addr.port())
            }
            Rule::Suffix { .. } => false,
        })
    }
}

/// A resolver that applies the policy before and after resolving.
pub struct PolicyResolver {
    pub policy: NetPolicy,
    pub inner: Arc<dyn Resolver>,
}

impl Resolver for PolicyResolver {
    fn resolve<'a>(&'a self, origin: &'a Origin) -> ResolveFuture<'a> {
        Box::pin(async move {
            if !self.policy.allows(origin) {
                return Err(ClientError::new(
                    ErrorKind::Denied,
                    format!(
                        "{} is not in the allowlist (allow it with --allow-host {})",
                        origin.host_port_always(),
                        origin.host_port_always()
                    ),
                ));
            }
            let addr = self.inner.resolve(origin).await?;
            if !self.policy.allows_addr(origin, addr) {
                return Err(ClientError::new(
                    ErrorKind::Denied,
                    format!(
                        "{} resolves to {}, an internal address (allow that address explicitly with --allow-host {})",
                        origin.host,
                        addr.ip(),
                        addr.ip()
                    ),
                ));
            }
            Ok(addr)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(host: &str, port: u16) -> Origin {
        Origin {
            https: false,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn names_are_denied_unless_allowed() {
        let target = Url::parse("https://staging.example.com").unwrap();
        let p = NetPolicy::new(
            Some(&target),
            &[
                "api.partner.com".into(),
                "*.cdn.example.net:8443".into(),
                "10.1.2.3".into(),
            ],
        )
        .unwrap();
        assert!(p.allows(&origin("staging.example.com", 443)));
        assert!(p.allows(&origin("STAGING.example.com", 443)));
        assert!(
            !p.allows(&origin("staging.example.com", 8080)),
            "the target's port only"
        );
        assert!(p.allows(&origin("api.partner.com", 8080)), "no port: any");
        assert!(p.allows(&origin("img.cdn.example.net", 8443)));
        assert!(
            !p.allows(&origin("cdn.example.net", 8443)),
            "*. is subdomains only"
        );
        assert!(!p.allows(&origin("evilcdn.example.net", 8443)));
        assert!(!p.allows(&origin("img.cdn.example.net", 443)));
        assert!(!p.allows(&origin("example.com", 443)));
        assert!(
            NetPolicy::new(None, &[]).unwrap().rules.is_empty(),
            "nothing by default"
        );
        for bad in ["a*.b.com", "host:http", "[::1", ""] {
            assert!(NetPolicy::new(None, &[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn internal_addresses_need_an_explicit_allow() {
        let target = Url::parse("http://staging.internal:8080").unwrap();
        let p = NetPolicy::new(
            Some(&target),
            &["api.partner.com".into(), "10.1.2.3".into()],
        )
        .unwrap();
        let at = |ip: &str, port| SocketAddr::new(ip.parse().unwrap(), port);
        // The target itself may be internal.
        assert!(p.allows_addr(&origin("staging.internal", 8080), at("10.0.0.7", 8080)));
        // An allowed name re-bound to an internal address is not.
        for ip in [
            "127.0.0.1",
            "10.9.9.9",
            "169.254.169.254",
            "192.168.1.1",
            "::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "100.64.1.1",
            "::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:a9fe:a9fe::1",
            "fec0::1",
            "198.18.0.1",
            "240.0.0.1",
            "224.0.0.1",
        ] {
            assert!(
                !p.allows_addr(&origin("api.partner.com", 443), at(ip, 443)),
                "{ip}"
            );
        }
        assert!(p.allows_addr(&origin("api.partner.com", 443), at("93.184.216.34", 443)));
        assert!(p.allows_addr(
            &origin("api.partner.com", 443),
            at("2606:2800:220:1::1", 443)
        ));
        assert!(p.allows_addr(
            &origin("api.partner.com", 443),
            at("64:ff9b::5db8:d822", 443)
        ));
        // Unless that very address was allowed.
        assert!(p.allows_addr(&origin("api.partner.com", 443), at("10.1.2.3", 443)));
    }
}
