//! The run's test data directory (`--data`), checked once before any VU starts: every
//! entry a regular file or a folder, none a symbolic link, none over the size cap.
//! What a guest can reach is then exactly these files, read-only (the preopen's
//! capability checks keep it inside the folder even if the folder changes later).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Largest data file by default: what one file may cost the host when it is shared.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;
/// Row offsets are 32-bit (see `table`), so no file may reach 4 GiB.
pub const MAX_FILE_BYTES_LIMIT: u64 = (4 << 30) - 1;
/// Entries (files and folders) a data directory may hold, and how deep it may go.
pub const MAX_ENTRIES: usize = 10_000;
pub const MAX_DEPTH: usize = 16;

/// A checked data directory: its files by their path inside it (`/`-separated).
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    files: HashMap<Box<str>, u64>,
    max_file_bytes: u64,
}

impl DataDir {
    /// Checks `path` and everything under it; the error is one line naming where the
    /// directory was given (`given`: `--data`, or the config file's key), the entry,
    /// and what to do.
    pub fn open(path: &Path, max_file_bytes: u64, given: &str) -> Result<DataDir, String> {
        let shown = format!("{given} {}", path.display());
        let root = fs::canonicalize(path)
            .map_err(|e| format!("{shown}: cannot open the directory: {e}"))?;
        if !root.is_dir() {
            return Err(format!(
                "{shown}: not a directory; give the folder that holds the test data files"
            ));
        }
        let mut dir = DataDir {
            root,
            files: HashMap::new(),
            max_file_bytes,
        };
        let mut entries = 0;
        dir.walk(&dir.root.clone(), "", 0, &mut entries)
            .map_err(|e| format!("{shown}: {e}"))?;
        Ok(dir)
    }

    fn walk(
        &mut self,
        at: &Path,
        rel: &str,
        depth: usize,
        entries: &mut usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{rel}: folders nest deeper than {MAX_DEPTH} levels; flatten the test data"
            ));
        }
        let read = fs::read_dir(at).map_err(|e| format!("{}: cannot list: {e}", shown(rel)))?;
        for entry in read {
            let entry = entry.map_err(|e| format!("{}: cannot list: {e}", shown(rel)))?;
            *entries += 1;
            if *entries > MAX_ENTRIES {
                return Err(format!(
                    "more than {MAX_ENTRIES} files and folders; give a directory with only the test data"
                ));
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(format!(
                    "{}: a name that is not UTF-8 ({name:?}); rename it",
                    shown(rel)
                ));
            };
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            // `symlink_metadata`: the link itself, never what it points at.
            let meta = fs::symlink_metadata(entry.path())
                .map_err(|e| format!("{child}: cannot read: {e}"))?;
            let kind = meta.file_type();
            if kind.is_symlink() {
                return Err(format!(
                    "{child} is a symbolic link; links are refused in a data directory (they could lead outside it): copy the file in"
                ));
            } else if kind.is_dir() {
                self.walk(&entry.path(), &child, depth + 1, entries)?;
            } else if kind.is_file() {
                if meta.len() > self.max_file_bytes {
                    return Err(format!(
                        "{child} is {}, over the {} a data file may have (max_data_file_mib under [limits] raises it)",
                        size(meta.len()),
                        size(self.max_file_bytes)
                    ));
                }
                self.files.insert(child.into(), meta.len());
            } else {
                return Err(format!(
                    "{child} is not a regular file (a socket, pipe or device); remove it"
                ));
            }
        }
        Ok(())
    }

    /// Where the directory is on the host (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// The files, by their path inside the directory.
    pub fn files(&self) -> impl Iterator<Item = (&str, u64)> {
        self.files.iter().map(|(k, v)| (&**k, *v))
    }

    /// The file a scenario names, as it would name it in its own folder: `users.csv`,
    /// `./users.csv`, `sub/users.csv`, `/users.csv`.
    pub fn find(&self, name: &str) -> Option<&str> {
        let rel = normalize(name)?;
        self.files.get_key_value(rel.as_str()).map(|(k, _)| &**k)
    }
}

/// A size as the cap is given (MiB), exact below one.
pub(super) fn size(n: u64) -> String {
    if n < 1 << 20 {
        format!("{n} bytes")
    } else {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    }
}

fn shown(rel: &str) -> &str {
    if rel.is_empty() { "the directory" } else { rel }
}

/// `name` as a path inside the directory, or `None` when it leaves it. The directory is
/// the guest's filesystem root, so `/users.csv` and `users.csv` are the same file.
fn normalize(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_inside_the_directory_only() {
        assert_eq!(normalize("users.csv").as_deref(), Some("users.csv"));
        assert_eq!(normalize("./a/users.csv").as_deref(), Some("a/users.csv"));
        assert_eq!(normalize("/users.csv").as_deref(), Some("users.csv"));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(normalize("/"), None);
    }

    #[test]
    fn links_special_files_and_oversized_files_are_refused() {
        let d = std::env::temp_dir().join(format!("stampede-data-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/users.csv"), "a,b\n1,2\n").unwrap();
        let ok = DataDir::open(&d, 1024, "--data").unwrap();
        assert_eq!(ok.find("sub/users.csv"), Some("sub/users.csv"));
        assert_eq!(ok.find("users.csv"), None);

        fs::write(d.join("big.json"), vec![b' '; 2048]).unwrap();
        let e = DataDir::open(&d, 1024, "--data").unwrap_err();
        assert!(
            e.contains("big.json is 2048 bytes, over the 1024 bytes"),
            "{e}"
        );
        fs::remove_file(d.join("big.json")).unwrap();

        std::os::unix::fs::symlink("/etc/passwd", d.join("sub/escape")).unwrap();
        let e = DataDir::open(&d, 1024, "--data").unwrap_err();
        assert!(e.contains("sub/escape is a symbolic link"), "{e}");
        assert_eq!(e.lines().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }
}
