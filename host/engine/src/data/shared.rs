//! k6's `SharedArray`: an array built once and read by every VU. The first VU to
//! publish an array under a name gives it; the host keeps its items as text (JSON, as
//! k6 does) in one buffer, and each read hands one item to the reading VU.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Arrays a run may hold, and their bytes together: a scenario cannot grow the host's
/// memory without bound by publishing.
pub const MAX_ARRAYS: usize = 64;
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

#[derive(Debug)]
pub struct SharedArray {
    text: String,
    ends: Vec<u32>,
}

impl SharedArray {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends an item (while being published).
    pub fn push(&mut self, item: &str) {
        self.text.push_str(item);
        self.ends.push(self.text.len() as u32);
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        Some(&self.text[start..end])
    }
}

/// The arrays by name, and their bytes together.
type Held = (HashMap<Box<str>, Arc<SharedArray>>, u64);

/// The run's shared arrays. Publishing and the first lookup of a name by a VU take the
/// lock; a VU keeps the arrays it has looked up, so reads take none.
#[derive(Debug)]
pub struct SharedArrays {
    max_bytes: u64,
    arrays: Mutex<Held>,
}

impl SharedArrays {
    pub fn new(max_bytes: u64) -> SharedArrays {
        SharedArrays {
            max_bytes,
            arrays: Mutex::new((HashMap::new(), 0)),
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<SharedArray>> {
        self.lock().0.get(name).cloned()
    }

    /// Keeps the `count` items of `bytes` that `fill` pushes under `name`, unless another
    /// VU was first: then its array, and `fill` is not called. The lock is held while
    /// `fill` copies, so VUs publishing the same name at once copy it once. The outer
    /// error is `fill`'s; the inner, a bound the array would pass.
    pub fn publish<E>(
        &self,
        name: &str,
        bytes: u64,
        count: usize,
        fill: impl FnOnce(&mut SharedArray) -> Result<(), E>,
    ) -> Result<Result<Arc<SharedArray>, String>, E> {
        let mut held = self.lock();
        if let Some(a) = held.0.get(name) {
            return Ok(Ok(a.clone()));
        }
        if held.0.len() >= MAX_ARRAYS {
            return Ok(Err(format!(
                "SharedArray {name:?}: a run may hold {MAX_ARRAYS} shared arrays"
            )));
        }
        if held.1 + bytes > self.max_bytes || bytes > u64::from(u32::MAX) {
            return Ok(Err(format!(
                "SharedArray {name:?}: {} would take the run's shared arrays past {} (max_data_file_mib under [limits] raises it)",
                super::dir::size(bytes),
                super::dir::size(self.max_bytes)
            )));
        }
        let mut array = SharedArray {
            text: String::with_capacity(bytes as usize),
            ends: Vec::with_capacity(count),
        };
        fill(&mut array)?;
        if array.text.len() as u64 > bytes {
            return Ok(Err(format!(
                "SharedArray {name:?}: its items changed while copied"
            )));
        }
        let array = Arc::new(array);
        held.0.insert(name.into(), array.clone());
        held.1 += bytes;
        Ok(Ok(array))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // A VU that panicked while holding it left nothing half-written worth refusing.
        self.arrays.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_publisher_wins_and_the_budget_holds() {
        let s = SharedArrays::new(10);
        let items = ["\"a\"", "1"];
        let fill = |a: &mut SharedArray| {
            items.iter().for_each(|i| a.push(i));
            Ok::<(), ()>(())
        };
        let a = s.publish("u", 4, 2, fill).unwrap().unwrap();
        let b = s
            .publish("u", 5, 1, |_| -> Result<(), ()> {
                panic!("a published name is not copied again")
            })
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(
            (a.len(), a.get(0), a.get(1), a.get(2)),
            (2, Some("\"a\""), Some("1"), None)
        );
        let e = s
            .publish("v", 9, 1, |_| Ok::<(), ()>(()))
            .unwrap()
            .unwrap_err();
        assert!(
            e.contains("9 bytes would take the run's shared arrays past 10 bytes"),
            "{e}"
        );
    }
}
