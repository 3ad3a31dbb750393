//! Interning of metric names (request names, checks, tasks, custom metrics).
//!
//! VUs keep a small local cache and only take the shared lock on a name they have not
//! seen before, so the hot path reads a local map and never contends.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub type NameId = u32;

/// Longest metric name kept (request, task, check, custom metric), bytes: a scenario
/// may send a name of any length, the host keeps this much of it.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest failure message kept (a task's error, a trap, a setup failure), bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// `s`, or its first `max` bytes (at a character boundary) and a marker saying how much
/// was cut: what a guest hands the host is kept within a size the host chose.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… ({} bytes cut)", &s[..end], s.len() - end))
}

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

    /// Returns the id of `name` (clipped to [`MAX_NAME_BYTES`]), registering it if new.
    pub fn intern(&self, name: &str) -> NameId {
        self.intern_shared(&clip(name, MAX_NAME_BYTES)).0
    }

    /// The id and the registry's own copy of a name already clipped.
    fn intern_shared(&self, name: &str) -> (NameId, Arc<str>) {
        if let Some((k, &id)) = self
            .inner
            .read()
            .expect("names lock")
            .by_name
            .get_key_value(name)
        {
            return (id, k.clone());
        }
        let id = self.intern_new(name);
        (id, self.get(id))
    }

    fn intern_new(&self, name: &str) -> NameId {
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
    /// crafting colliding names (it would only slow its own VU). Keys are the
    /// registry's own copies: one copy of a name per run, not one per VU.
    cache: foldhash::HashMap<Arc<str>, NameId>,
}

impl LocalNames {
    pub fn new(shared: Arc<Names>) -> Self {
        LocalNames {
            shared,
            cache: foldhash::HashMap::default(),
        }
    }

    pub fn intern(&mut self, name: &str) -> NameId {
        // A name within the limit is borrowed as it is: no copy on the hot path.
        let clipped = clip(name, MAX_NAME_BYTES);
        if let Some(&id) = self.cache.get(&*clipped) {
            return id;
        }
        let (id, shared) = self.shared.intern_shared(&clipped);
        // The cache is bounded like the registry, so a name-per-request scenario
        // cannot grow a VU without limit either. A name past the cap is cached under
        // the overflow name's copy only, not its own.
        if self.cache.len() < self.shared.cap() && *shared == *clipped {
            self.cache.insert(shared, id);
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

    #[test]
    fn long_names_are_clipped_with_a_marker_and_shared() {
        let names = Arc::new(Names::new(10));
        let (mut one, mut two) = (
            LocalNames::new(names.clone()),
            LocalNames::new(names.clone()),
        );
        let long = "é".repeat(10 << 20);
        let a = one.intern(&long);
        assert_eq!(two.intern(&long), a);
        let kept = names.get(a);
        assert!(kept.len() < MAX_NAME_BYTES + 40, "{}", kept.len());
        assert!(kept.ends_with(&format!("… ({} bytes cut)", long.len() - MAX_NAME_BYTES)));
        // Both VUs' caches hold the registry's one copy.
        assert_eq!(
            Arc::strong_count(&kept),
            5,
            "list, map, two caches, and this one"
        );
        assert_eq!(clip("short", 10), "short");
    }
}
