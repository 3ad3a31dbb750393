//! Test data from the run's data directory (`--data`), parsed once per run on the host
//! and shared by every VU: a feeder copies in only the row it hands out.
//!
//! ```ignore
//! use stampede_sdk::data::{Feeder, Order};
//!
//! // Each VU logs in as its own user: VU n gets row n of users.csv.
//! let users = Feeder::new("users.csv", Order::Unique);
//! let me = users.next()?;
//! http::post("/login").json(&json!({"email": me.get("email"), "password": me.get("password")}));
//! ```
//!
//! The directory is also the instance's filesystem, read-only: `std::fs::read("users.csv")`
//! reads it too (each VU then holds its own copy).

use std::rc::Rc;

use crate::Error;
use crate::bindings::stampede::scenario::data as host;

pub use host::Order;

/// A CSV file (with a header line) or a JSON array of objects, handed out a row at a time.
#[derive(Debug, Clone)]
pub struct Feeder {
    file: String,
    order: Order,
    columns: Rc<[String]>,
    json: bool,
}

/// One row: its cells by column name. For a JSON file the cells are JSON text (`"bob"`,
/// `42`); [`Row::get`] gives strings without their quotes.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Rc<[String]>,
    cells: Vec<String>,
    json: bool,
}

fn error(e: host::DataError) -> Error {
    match e {
        host::DataError::Invalid(m) | host::DataError::Exhausted(m) => Error(m),
    }
}

impl Feeder {
    /// Describes `file` (the host parses it now, once for the run); a missing or
    /// malformed file is the error of the first `next`.
    pub fn new(file: &str, order: Order) -> Feeder {
        let (columns, json) = match host::table(file) {
            Ok(t) => (t.columns.into(), t.json),
            Err(_) => (Rc::from(Vec::new()), false),
        };
        Feeder {
            file: file.to_string(),
            order,
            columns,
            json,
        }
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows the file has (all of them, whichever order hands them out).
    pub fn len(&self) -> Result<u64, Error> {
        host::table(&self.file).map(|t| t.rows).map_err(error)
    }

    pub fn is_empty(&self) -> Result<bool, Error> {
        self.len().map(|n| n == 0)
    }

    /// The row this feeder's order gives now; an error says why there is none (the rows
    /// ran out, no such file, no `--data`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&self) -> Result<Row, Error> {
        let cells = host::next_row(&self.file, self.order).map_err(error)?;
        Ok(self.row_of(cells))
    }

    /// Row `index` (from 0), whatever the order.
    pub fn row(&self, index: u64) -> Result<Row, Error> {
        let cells = host::row(&self.file, index).map_err(error)?;
        Ok(self.row_of(cells))
    }

    fn row_of(&self, cells: Vec<String>) -> Row {
        Row {
            columns: self.columns.clone(),
            cells,
            json: self.json,
        }
    }
}

impl Row {
    /// The cell of `column`; for JSON, a string value as the string, other values as
    /// JSON text.
    pub fn get(&self, column: &str) -> Option<String> {
        let raw = self.raw(column)?;
        if self.json && raw.starts_with('"') {
            return serde_json::from_str(raw).ok();
        }
        Some(raw.to_string())
    }

    /// The cell as stored: CSV text, or JSON text for a JSON file.
    pub fn raw(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.cells.get(i).map(String::as_str)
    }

    pub fn cells(&self) -> &[String] {
        &self.cells
    }
}

/// A whole file of the data directory, read once per run on the host (each call copies
/// it into this VU).
pub fn read(file: &str) -> Result<Vec<u8>, Error> {
    host::read(file).map_err(error)
}
