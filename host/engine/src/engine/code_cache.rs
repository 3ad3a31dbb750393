//! Cranelift's incremental cache on disk: the machine code of each compiled function,
//! keyed by a hash of its IR. Two JS or Python scenarios are the same interpreter with a
//! different snapshot, so a new scenario (or a new edit of one) compiles only what
//! differs: a few seconds instead of most of a minute.
//!
//! One append-only file of records, shared by every process using the cache directory:
//! each record is written by one `write` on a file opened for appending, carries a
//! checksum, and is skipped when torn or foreign. The file is read once per process, at
//! the first compilation (a run that finds its component compiled never reads it), and
//! is started afresh when it has grown past its cap.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

const MAGIC: &[u8; 4] = b"SFN1";
/// magic, key length, value length, CRC-32 of key and value.
const HEADER: usize = 16;

/// The store wasmtime's compiler asks for a function's code before compiling it.
#[derive(Debug)]
pub struct CodeCache {
    path: PathBuf,
    cap: u64,
    /// The records found on disk, read at the first lookup.
    loaded: OnceLock<Loaded>,
    /// The file appended to, and the keys this process added (not written twice).
    writer: Mutex<Writer>,
    lookups: AtomicU64,
    hits: AtomicU64,
}

/// How much of a compilation the cache saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeReuse {
    /// Functions whose machine code came from the cache.
    pub reused: u64,
    /// Functions compiled.
    pub compiled: u64,
}

/// A byte range of the file.
type Span = (usize, usize);

#[derive(Debug, Default)]
struct Loaded {
    bytes: Vec<u8>,
    index: HashMap<[u8; 32], Span>,
}

#[derive(Debug, Default)]
struct Writer {
    file: Option<File>,
    failed: bool,
    written: HashSet<Vec<u8>>,
}

impl CodeCache {
    /// The cache kept in `path`, started afresh once it exceeds `cap` bytes.
    pub fn new(path: PathBuf, cap: u64) -> Self {
        CodeCache {
            path,
            cap,
            loaded: OnceLock::new(),
            writer: Mutex::new(Writer::default()),
            lookups: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// What the compilations so far found and did not find; `None` before any.
    pub fn reuse(&self) -> Option<CodeReuse> {
        let (lookups, hits) = (self.lookups.load(Relaxed), self.hits.load(Relaxed));
        (lookups > 0).then_some(CodeReuse {
            reused: hits,
            compiled: lookups - hits,
        })
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.get_or_init(|| {
            let too_big = std::fs::metadata(&self.path).is_ok_and(|m| m.len() > self.cap);
            if too_big {
                // Another process may still append to the old file: it then writes to
                // an unlinked file, which costs it only those entries.
                let _ = std::fs::remove_file(&self.path);
                return Loaded::default();
            }
            std::fs::read(&self.path)
                .map(Loaded::parse)
                .unwrap_or_default()
        })
    }
}

impl Loaded {
    fn parse(bytes: Vec<u8>) -> Loaded {
        let mut index = HashMap::new();
        let mut at = 0;
        while let Some(start) = find_magic(&bytes, at) {
            match record_at(&bytes, start) {
                Some((key, value, end)) => {
                    if let Ok(key) = <[u8; 32]>::try_from(&bytes[key.0..key.1]) {
                        // A later record of a key replaces an earlier one.
                        index.insert(key, value);
                    }
                    at = end;
                }
                // A torn or foreign record: look for the next one after its magic.
                None => at = start + 1,
            }
        }
        Loaded { bytes, index }
    }
}

fn find_magic(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
        .map(|p| from + p)
}

/// The key's and value's byte ranges of the record at `start`, and where it ends; `None`
/// when it is cut short or its checksum does not match.
fn record_at(bytes: &[u8], start: usize) -> Option<(Span, Span, usize)> {
    let head = bytes.get(start..start + HEADER)?;
    let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().unwrap());
    let (klen, vlen, crc) = (word(4) as usize, word(8) as usize, word(12));
    let key = start + HEADER;
    let value = key.checked_add(klen)?;
    let end = value.checked_add(vlen)?;
    let body = bytes.get(key..end)?;
    (crc32fast::hash(body) == crc).then_some(((key, value), (value, end), end))
}

fn record(key: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    let (klen, vlen) = (
        u32::try_from(key.len()).ok()?,
        u32::try_from(value.len()).ok()?,
    );
    let mut crc = crc32fast::Hasher::new();
    crc.update(key);
    crc.update(value);
    let mut out = Vec::with_capacity(HEADER + key.len() + value.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&klen.to_le_bytes());
    out.extend_from_slice(&vlen.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    Some(out)
}

impl wasmtime::CacheStore for CodeCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.lookups.fetch_add(1, Relaxed);
        let loaded = self.loaded();
        let &(from, to) = loaded.index.get(<&[u8; 32]>::try_from(key).ok()?)?;
        self.hits.fetch_add(1, Relaxed);
        Some(Cow::Borrowed(&loaded.bytes[from..to]))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if w.failed || w.written.contains(key) {
            return false;
        }
        if w.file.is_none() {
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match OpenOptions::new()
                .append(true)
                .create(true)
                .open(&self.path)
            {
                Ok(f) => w.file = Some(f),
                Err(_) => {
                    // The cache is an optimisation: without a file, compile uncached.
                    w.failed = true;
                    return false;
                }
            }
        }
        let Some(rec) = record(key, &value) else {
            return false;
        };
        // One write per record: appends of other processes land before or after it.
        let ok = w.file.as_mut().is_some_and(|f| f.write_all(&rec).is_ok());
        if ok {
            w.written.insert(key.to_vec());
        } else {
            w.failed = true;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::CacheStore;

    fn key(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn records_written_by_one_process_are_read_by_the_next() {
        let dir = std::env::temp_dir().join(format!("stampede-codecache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("functions.pack");
        let a = CodeCache::new(path.clone(), 1 << 20);
        assert!(a.get(&key(1)).is_none());
        assert!(a.insert(&key(1), b"one".to_vec()));
        assert!(a.insert(&key(2), b"two".to_vec()));
        assert!(!a.insert(&key(2), b"two".to_vec()), "written once");
        // A torn record (a process killed mid-write) between two good ones.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&record(&key(3), b"three").unwrap()[..20])
            .unwrap();
        drop(f);
        let c = CodeCache::new(path.clone(), 1 << 20);
        assert!(c.insert(&key(4), b"four".to_vec()));
        let b = CodeCache::new(path.clone(), 1 << 20);
        assert_eq!(b.get(&key(1)).as_deref(), Some(&b"one"[..]));
        assert_eq!(b.get(&key(2)).as_deref(), Some(&b"two"[..]));
        assert_eq!(b.get(&key(3)), None);
        assert_eq!(b.get(&key(4)).as_deref(), Some(&b"four"[..]));
        assert_eq!(
            b.reuse(),
            Some(CodeReuse {
                reused: 3,
                compiled: 1
            })
        );
        // Past its cap the file is started afresh.
        let small = CodeCache::new(path.clone(), 10);
        assert_eq!(small.get(&key(1)), None);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
