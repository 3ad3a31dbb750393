//! Test data for scenarios: a read-only directory (`--data`) mounted into every
//! instance, its CSV and JSON files parsed once per run and handed out a row at a time
//! (feeders), whole files read once and shared, and k6's `SharedArray`s built once.
//! Nothing here knows about wasm: the VU's host imports (`vu::data`) call into it.

pub mod dir;
pub mod shared;
pub mod table;

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

pub use dir::DataDir;
pub use shared::SharedArrays;
pub use table::Table;

/// Where the directory appears inside every instance: as its filesystem root, so the
/// relative paths scripts use (`open("users.csv")`, the working folder being `/`) and
/// absolute ones reach it alike. One preopen: one file descriptor per VU.
pub const MOUNT: &str = "/";

/// How a feeder hands out rows (Gatling's feeders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The next row in file order for each call, across the run's VUs; none once every
    /// row was handed out.
    Sequential,
    /// As sequential, starting over after the last row.
    Circular,
    /// A uniformly random row each call.
    Random,
    /// One row per VU for its whole life (VU n, row n); none for VUs past the last row.
    Unique,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// No such file, no data directory, or a file that cannot be read or parsed.
    Invalid(String),
    /// Every row was handed out (sequential), or the VU has none of its own (unique).
    Exhausted(String),
}

/// A run's data directory and what was read from it, shared by all its VUs.
#[derive(Debug)]
pub struct DataSet {
    dir: DataDir,
    /// Sequential and circular feeders hand out this process's share of the rows only
    /// (segment `index` of `count`, from 0), so segments of one run never hand out the
    /// same row.
    segment: Option<(u32, u32)>,
    files: HashMap<Box<str>, Slot>,
}

/// One file: parsed or read at most once, and its feeders' cursors.
#[derive(Debug, Default)]
struct Slot {
    table: OnceLock<Result<Arc<Table>, String>>,
    bytes: OnceLock<Result<Arc<[u8]>, String>>,
    sequential: AtomicU64,
    circular: AtomicU64,
    /// Calls that got no row: sequential past the end, unique past the last row.
    ran_out: AtomicU64,
    beyond: AtomicU64,
}

impl DataSet {
    pub fn new(dir: DataDir, segment: Option<(u32, u32)>) -> DataSet {
        let files = dir
            .files()
            .map(|(k, _)| (k.into(), Slot::default()))
            .collect();
        DataSet {
            dir,
            segment,
            files,
        }
    }

    pub fn dir(&self) -> &DataDir {
        &self.dir
    }

    fn slot(&self, name: &str) -> Result<(&str, &Slot), DataError> {
        let rel = self.dir.find(name).ok_or_else(|| {
            DataError::Invalid(format!(
                "{name}: no such file in the data directory {}",
                self.dir.root().display()
            ))
        })?;
        Ok((rel, &self.files[rel]))
    }

    /// The file's bytes, read once, bounded by the cap even if it grew since the check.
    fn read_file(&self, rel: &str) -> Result<Vec<u8>, String> {
        let cap = self.dir.max_file_bytes();
        let mut out = Vec::new();
        std::fs::File::open(self.dir.root().join(rel))
            .and_then(|f| f.take(cap + 1).read_to_end(&mut out))
            .map_err(|e| format!("{rel}: cannot read: {e}"))?;
        if out.len() as u64 > cap {
            return Err(format!(
                "{rel}: grew past the {} a data file may have since the run started",
                dir::size(cap)
            ));
        }
        Ok(out)
    }

    /// A whole file (k6's `open()`), read once per run.
    pub fn bytes(&self, name: &str) -> Result<Arc<[u8]>, DataError> {
        let (rel, slot) = self.slot(name)?;
        slot.bytes
            .get_or_init(|| self.read_file(rel).map(Arc::from))
            .clone()
            .map_err(DataError::Invalid)
    }

    /// A file's rows, parsed once per run.
    pub fn table(&self, name: &str) -> Result<Arc<Table>, DataError> {
        self.slot(name)
            .and_then(|(rel, slot)| self.parsed(rel, slot))
    }

    fn parsed(&self, rel: &str, slot: &Slot) -> Result<Arc<Table>, DataError> {
        slot.table
            .get_or_init(|| {
                let bytes = self.read_file(rel)?;
                Table::parse(rel, &bytes).map(Arc::new)
            })
            .clone()
            .map_err(DataError::Invalid)
    }

    /// The row `order` gives VU `vu` (ids from 1, unique across the run) now.
    pub fn next_row(
        &self,
        name: &str,
        order: Order,
        vu: u32,
    ) -> Result<(Arc<Table>, usize), DataError> {
        let (rel, slot) = self.slot(name)?;
        let table = self.parsed(rel, slot)?;
        let total = table.rows() as u64;
        // As the executors split iterations: segment i takes rows [total*i/n, total*(i+1)/n).
        let (first, mine) = match self.segment {
            Some((i, n)) => {
                let at = |k: u32| total * u64::from(k) / u64::from(n.max(1));
                (at(i), at(i + 1) - at(i))
            }
            None => (0, total),
        };
        let empty = || DataError::Exhausted(format!("{rel}: no rows"));
        let row = match order {
            Order::Sequential => {
                let i = slot.sequential.fetch_add(1, Ordering::Relaxed);
                if i >= mine {
                    slot.ran_out.fetch_add(1, Ordering::Relaxed);
                    return Err(DataError::Exhausted(format!(
                        "{rel}: all {mine} rows were handed out (sequential); use circular to start over"
                    )));
                }
                first + i
            }
            Order::Circular if mine == 0 => return Err(empty()),
            Order::Circular => first + slot.circular.fetch_add(1, Ordering::Relaxed) % mine,
            Order::Random if total == 0 => return Err(empty()),
            Order::Random => fastrand::u64(..total),
            Order::Unique => {
                let i = u64::from(vu.max(1) - 1);
                if i >= total {
                    slot.beyond.fetch_add(1, Ordering::Relaxed);
                    return Err(DataError::Exhausted(format!(
                        "{rel}: VU {vu} has no row of its own: the file has {total} rows (unique gives one per VU)"
                    )));
                }
                i
            }
        };
        Ok((table, row as usize))
    }

    /// What the run could not hand out, for the summary.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (rel, slot) in &self.files {
            let (ran_out, beyond) = (
                slot.ran_out.load(Ordering::Relaxed),
                slot.beyond.load(Ordering::Relaxed),
            );
            if ran_out > 0 {
                out.push(format!(
                    "data {rel}: its rows ran out (sequential): {ran_out} feeder calls got none"
                ));
            }
            if beyond > 0 {
                out.push(format!(
                    "data {rel}: {beyond} calls from VUs past its last row got no row (unique)"
                ));
            }
        }
        out.sort();
        out
    }
}
