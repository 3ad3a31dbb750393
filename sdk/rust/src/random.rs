//! Cheap per-VU randomness for picking products, quantities and think times: a
//! xorshift generator seeded from the VU id and the clock (not for secrets).

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// A random u64.
pub fn u64() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            x = (u64::from(crate::vu_id()) << 32)
                ^ crate::now().as_nanos() as u64
                ^ 0x9E37_79B9_7F4A_7C15;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// A number in `lo..=hi`.
pub fn range(lo: u32, hi: u32) -> u32 {
    if hi <= lo {
        return lo;
    }
    lo + (u64() % u64::from(hi - lo + 1)) as u32
}

/// One element of `items`, or `None` when it is empty.
pub fn choose<T>(items: &[T]) -> Option<&T> {
    if items.is_empty() {
        None
    } else {
        items.get((u64() % items.len() as u64) as usize)
    }
}
