//! A VU's own keep-alive connections: one per origin, as a real client holds them, and
//! a few origins at most (the oldest is closed past that).

use std::ops::{Index, IndexMut};
use std::sync::Arc;

use url::Url;

use super::Origin;
use super::connect::{ByteCounts, Conn};

/// Connections a VU keeps open at once (one per origin); the oldest is closed past this.
const MAX_CONNS_PER_VU: usize = 8;

#[derive(Default)]
pub(super) struct Pool {
    conns: Vec<Conn>,
}

impl Pool {
    /// The index of a live connection to the origin of `url`; one found dead (closed by
    /// the server while idle) is dropped.
    pub fn find(&mut self, url: &Url) -> Option<usize> {
        let i = self.conns.iter().position(|c| c.origin.is(url))?;
        if self.conns[i].usable() {
            return Some(i);
        }
        self.conns.swap_remove(i);
        None
    }

    /// Keeps a new connection, closing the oldest past the limit; returns its index.
    pub fn add(&mut self, conn: Conn) -> usize {
        if self.conns.len() >= MAX_CONNS_PER_VU {
            self.conns.remove(0);
        }
        self.conns.push(conn);
        self.conns.len() - 1
    }

    /// Takes a connection out (to drop it: it cannot carry another request).
    pub fn remove(&mut self, i: usize) -> Conn {
        self.conns.swap_remove(i)
    }

    /// A connection for a batch's request to the origin of `url`: a share of a live
    /// HTTP/2 one, which stays here too, or a live HTTP/1 one taken out.
    pub fn lend(&mut self, url: &Url) -> Option<Conn> {
        let i = self.find(url)?;
        Some(match self.conns[i].share() {
            Some(shared) => shared,
            None => self.conns.remove(i),
        })
    }

    /// Keeps a connection a batch's request gives back. An HTTP/2 one only if none to
    /// its origin is kept: it is a share of that one, or a second connection the batch
    /// opened before the first was up (closed, as Go's client closes it for k6).
    pub fn give_back(&mut self, conn: Conn) {
        if conn.is_h2()
            && let Some(i) = self.h2_to(&conn.origin)
        {
            if self.conns[i].usable() {
                return;
            }
            // The kept one has closed meanwhile: this one replaces it.
            self.conns.swap_remove(i);
        }
        self.add(conn);
    }

    /// Drops the kept HTTP/2 connection to `origin`, if any.
    pub fn forget_h2(&mut self, origin: &Origin) {
        if let Some(i) = self.h2_to(origin) {
            self.conns.swap_remove(i);
        }
    }

    /// Whether the connection counted by `counts` is here.
    pub fn holds(&self, counts: &Arc<ByteCounts>) -> bool {
        self.conns.iter().any(|c| Arc::ptr_eq(&c.counts, counts))
    }

    fn h2_to(&self, origin: &Origin) -> Option<usize> {
        self.conns
            .iter()
            .position(|c| c.is_h2() && c.origin == *origin)
    }

    /// Takes every connection out.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Conn> {
        self.conns.drain(..)
    }

    /// Closes every connection (a half-used one cannot be trusted after a timeout).
    pub fn clear(&mut self) {
        self.conns.clear();
    }
}

impl Index<usize> for Pool {
    type Output = Conn;

    fn index(&self, i: usize) -> &Conn {
        &self.conns[i]
    }
}

impl IndexMut<usize> for Pool {
    fn index_mut(&mut self, i: usize) -> &mut Conn {
        &mut self.conns[i]
    }
}
