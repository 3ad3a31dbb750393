//! Interning of metric names (request names, checks, tasks, custom metrics).
//!
//! VUs keep a small local cache and only take the shared lock on a name they have not
//! seen before, so the hot path reads a local map and never contends.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub type NameId = u32;

/// The run-wide registry. The number of distinct names is capped: a scenario that
/// invents a name per request (an id in the URL) would otherwise exhaust memory.
#[derive(Debug)]
pub struct Names {
    inner: RwLock<Inner>,
    cap: usize,
}

#[derive(Debug, Default)]
struct Inner {
    by_name: HashMap<Arc<str>, NameId>,
    list: Vec<Arc<str>>,
    overflowed: bool,
}

/// The id every name past the cap is folded into.
pub const OVERFLOW_NAME: &str = "(other: too many distinct names)";

impl Names {
    pub fn new(cap: usize) -> Self {
        Names {
            inner: RwLock::new(Inner::default()),
            cap: cap.max(1),
        }
    }

    /// Returns the id of `name`, registering it if new.
    pub fn intern(&self, name: &str) -> NameId {
        if let Some(&id) = self.inner.read().expect("names lock").by_name.get(name) {
            return id;
        }
        let mut inner = self.inner.write().expect("names lock");
        if let Some(&id) = inner.by_name.get(name) {
            return id;
        }
        let key: &str = if inner.list.len() + 1 >= self.cap {
            inner.overflowed = true;
            OVERFLOW_NAME
        } else {
            name
        };
        if let Some(&id) = inner.by_name.get(key) {
            return id;
        }
        let id = inner.list.len() as NameId;
        let key: Arc<str> = Arc::from(key);
        inner.list.push(key.clone());
        inner.by_name.insert(key, id);
        id
    }

    pub fn get(&self, id: NameId) -> Arc<str> {
        self.inner.read().expect("names lock").list[id as usize].clone()
    }

    /// True once some name was folded into [`OVERFLOW_NAME`].
    pub fn overflowed(&self) -> bool {
        self.inner.read().expect("names lock").overflowed
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

/// A VU's view of [`Names`]: a private cache in front of the shared registry.
#[derive(Debug)]
pub struct LocalNames {
    shared: Arc<Names>,
    /// foldhash, not SipHash: it is looked up on every request and check. Its seed is
    /// random per process and the cache is capped, which is enough against a scenario
    /// crafting colliding names (it would only slow its own VU).
    cache: foldhash::HashMap<Box<str>, NameId>,
}

impl LocalNames {
    pub fn new(shared: Arc<Names>) -> Self {
        LocalNames {
            shared,
            cache: foldhash::HashMap::default(),
        }
    }

    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.cache.get(name) {
            return id;
        }
        let id = self.shared.intern(name);
        // The cache is bounded like the registry, so a name-per-request scenario
        // cannot grow a VU without limit either.
        if self.cache.len() < self.shared.cap() {
            self.cache.insert(name.into(), id);
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_caps_cardinality() {
        let names = Arc::new(Names::new(4));
        let mut local = LocalNames::new(names.clone());
        let a = local.intern("GET /a");
        assert_eq!(local.intern("GET /a"), a);
        assert_eq!(names.intern("GET /a"), a);
        let b = local.intern("GET /b");
        let c = local.intern("GET /c");
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert!(!names.overflowed());
        let d = local.intern("GET /d");
        let e = local.intern("GET /e");
        assert_eq!(d, e, "names past the cap share the overflow id");
        assert_eq!(&*names.get(d), OVERFLOW_NAME);
        assert!(names.overflowed());
        assert_eq!(&*names.get(a), "GET /a");
    }
}
