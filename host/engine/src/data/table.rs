//! One data file parsed into rows, once per run: a CSV file with a header line, or a
//! JSON array of objects. All cells share one text buffer with a 32-bit end offset each,
//! so a 50 MB file costs about 50 MB and 4 bytes a cell, however many VUs read it.

/// A parsed file. For JSON, each cell is the JSON text of its value (`"bob"`, `42`,
/// `null` for a missing key); for CSV, the field as written.
#[derive(Debug)]
pub struct Table {
    pub columns: Box<[Box<str>]>,
    pub json: bool,
    text: String,
    ends: Vec<u32>,
}

impl Table {
    /// Parses `bytes` by the extension of `name` (which the errors name).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Table, String> {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") => csv_table(name, bytes),
            Some("json") => json_table(name, bytes),
            _ => Err(format!(
                "{name}: rows are read from .csv (with a header line) or .json (an array of objects) files"
            )),
        }
    }

    pub fn rows(&self) -> usize {
        if self.columns.is_empty() {
            0
        } else {
            self.ends.len() / self.columns.len()
        }
    }

    /// The cells of row `r`, in column order.
    pub fn row(&self, r: usize) -> impl ExactSizeIterator<Item = &str> {
        let n = self.columns.len();
        (r * n..(r + 1) * n).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            &self.text[start..self.ends[i] as usize]
        })
    }

    /// Host memory the rows hold.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }

    fn push(&mut self, cell: &str) -> Result<(), String> {
        self.text.push_str(cell);
        let end = u32::try_from(self.text.len())
            .map_err(|_| "over 4 GiB of cells; split the file".to_string())?;
        self.ends.push(end);
        Ok(())
    }
}

fn csv_table(name: &str, bytes: &[u8]) -> Result<Table, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(1);
        let why = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields where the header has {expected_len}"),
            _ => e.to_string(),
        };
        format!("{name}:{line}: {why}")
    };
    let columns: Box<[Box<str>]> = reader
        .headers()
        .map_err(err)?
        .iter()
        .map(Box::from)
        .collect();
    if columns.is_empty() || columns.iter().all(|c| c.is_empty()) {
        return Err(format!(
            "{name}:1: no header line; the first line names the columns (user,password)"
        ));
    }
    let mut t = Table {
        columns,
        json: false,
        text: String::with_capacity(bytes.len()),
        ends: Vec::new(),
    };
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(err)? {
        for cell in record.iter() {
            t.push(cell).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    t.text.shrink_to_fit();
    t.ends.shrink_to_fit();
    Ok(t)
}

fn json_table(name: &str, bytes: &[u8]) -> Result<Table, String> {
    use serde_json::Value;
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{name}:{}: not JSON: {e}", e.line()))?;
    let Value::Array(items) = value else {
        return Err(format!(
            "{name}: rows come from a JSON array of objects ([{{...}}, ...])"
        ));
    };
    let mut columns: Vec<Box<str>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(format!(
                "{name}: element {i} is not an object; rows come from a JSON array of objects"
            ));
        };
        for k in map.keys() {
            if !columns.iter().any(|c| **c == **k) {
                columns.push(k.as_str().into());
            }
        }
    }
    let mut t = Table {
        columns: columns.into(),
        json: true,
        text: String::with_capacity(bytes.len()),
        ends: Vec::with_capacity(items.len()),
    };
    let mut cell = String::new();
    for item in &items {
        let Value::Object(map) = item else {
            unreachable!("checked above")
        };
        for c in t.columns.clone().iter() {
            cell.clear();
            match map.get(&**c) {
                Some(v) => cell.push_str(&v.to_string()),
                None => cell.push_str("null"),
            }
            t.push(&cell).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    t.text.shrink_to_fit();
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_share_one_buffer() {
        let t = Table::parse("u.csv", b"\xEF\xBB\xBFuser,pw\nalice,\"a,1\"\nbob,2\n").unwrap();
        assert_eq!(&*t.columns, &["user".into(), "pw".into()] as &[Box<str>]);
        assert_eq!(t.rows(), 2);
        assert_eq!(t.row(0).collect::<Vec<_>>(), ["alice", "a,1"]);
        assert_eq!(t.row(1).collect::<Vec<_>>(), ["bob", "2"]);
        let e = Table::parse("u.csv", b"user,pw\nalice\n").unwrap_err();
        assert_eq!(e, "u.csv:2: 1 fields where the header has 2");
    }

    #[test]
    fn json_cells_are_json_text() {
        let t = Table::parse(
            "p.json",
            br#"[{"id": 1, "name": "x"}, {"id": 2, "tags": [1]}]"#,
        )
        .unwrap();
        assert!(t.json);
        assert_eq!(t.rows(), 2);
        let cols: Vec<&str> = t.columns.iter().map(|c| &**c).collect();
        let row1: Vec<&str> = t.row(1).collect();
        let get = |k| row1[cols.iter().position(|c| *c == k).unwrap()];
        assert_eq!((get("id"), get("name"), get("tags")), ("2", "null", "[1]"));
        assert!(
            Table::parse("p.json", b"{}")
                .unwrap_err()
                .contains("array of objects")
        );
        assert!(
            Table::parse("p.json", b"[1]")
                .unwrap_err()
                .contains("element 0")
        );
        assert!(Table::parse("p.txt", b"").unwrap_err().contains(".csv"));
    }
}
