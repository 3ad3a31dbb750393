//! Name resolution as the client asks for it: the system's, fixed answers
//! (`--resolve`), and the network policy on top (in `policy`).

use std::sync::Arc;

use super::{ClientError, ErrorKind, Origin};

/// Resolves a host and port to an address the VU may connect to. The sandbox's network
/// policy is one; tests can substitute their own.
/// What a [`Resolver`] returns: the address to connect to, or why not.
pub type ResolveFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<std::net::SocketAddr, ClientError>> + Send + 'a>>;

pub trait Resolver: Send + Sync {
    fn resolve<'a>(&'a self, origin: &'a Origin) -> ResolveFuture<'a>;
}

/// The system resolver, no policy.
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(&'a self, origin: &'a Origin) -> ResolveFuture<'a> {
        Box::pin(async move {
            tokio::net::lookup_host((origin.host.as_str(), origin.port))
                .await
                .map_err(|e| ClientError::new(ErrorKind::Dns, format!("{}: {e}", origin.host)))?
                .next()
                .ok_or_else(|| {
                    ClientError::new(ErrorKind::Dns, format!("{}: no address", origin.host))
                })
        })
    }
}

/// `--resolve HOST:PORT:ADDR` (curl's form): fixed answers first, then `inner`.
pub struct FixedResolver {
    pub fixed: Vec<(String, u16, std::net::IpAddr)>,
    pub inner: Arc<dyn Resolver>,
}

impl FixedResolver {
    /// Parses one `--resolve` entry.
    pub fn parse(text: &str) -> Result<(String, u16, std::net::IpAddr), String> {
        let err =
            || format!("--resolve {text:?}: write HOST:PORT:ADDRESS, e.g. api.test:443:10.0.0.5");
        let (host, rest) = text.split_once(':').ok_or_else(err)?;
        let (port, addr) = rest.split_once(':').ok_or_else(err)?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        Ok((
            host.to_ascii_lowercase(),
            port.parse().map_err(|_| err())?,
            addr.parse().map_err(|_| err())?,
        ))
    }
}

impl Resolver for FixedResolver {
    fn resolve<'a>(&'a self, origin: &'a Origin) -> ResolveFuture<'a> {
        let host = origin.host.to_ascii_lowercase();
        match self
            .fixed
            .iter()
            .find(|(h, p, _)| *h == host && *p == origin.port)
        {
            Some((_, port, ip)) => {
                let addr = std::net::SocketAddr::new(*ip, *port);
                Box::pin(async move { Ok(addr) })
            }
            None => self.inner.resolve(origin),
        }
    }
}
