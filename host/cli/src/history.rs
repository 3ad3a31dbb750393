//! Baseline history on disk: the summaries of the last accepted runs, per key (a label
//! such as the branch, and the run's config fingerprint), as plain JSON files a CI cache
//! or artifact can carry. Layout: `DIR/LABEL@FINGERPRINT12/STARTED_AT_MS.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use stampede::metrics::Summary;

/// Runs kept per key, and compared with, unless `--baseline-keep` says otherwise.
pub const DEFAULT_KEEP: usize = 10;
/// The label when none is given.
pub const DEFAULT_LABEL: &str = "default";
/// Longest label kept in a directory name.
const MAX_LABEL: usize = 64;

/// A history directory and the label that picks runs within it.
#[derive(Debug, Clone)]
pub struct History {
    pub root: PathBuf,
    pub label: String,
}

/// One stored run.
#[derive(Debug)]
pub struct Stored {
    pub path: PathBuf,
    pub summary: Summary,
}

/// One key's runs, for `stampede baseline list`.
#[derive(Debug)]
pub struct Key {
    pub dir: PathBuf,
    pub label: String,
    pub fingerprint: String,
    pub runs: Vec<PathBuf>,
}

/// A label as a directory name: letters, digits, `.`, `_` and `-` kept, anything else
/// (a branch's `/`) made `-`, at most 64 characters.
pub fn clean_label(label: &str) -> Result<String> {
    let clean: String = label
        .trim()
        .chars()
        .take(MAX_LABEL)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() || clean.chars().all(|c| c == '.') {
        bail!("--baseline-label {label:?}: give a name such as the branch, e.g. main");
    }
    Ok(clean)
}

fn short(fingerprint: &str) -> &str {
    let f = if fingerprint.is_empty() {
        "none"
    } else {
        fingerprint
    };
    &f[..f.len().min(12)]
}

/// The summary files (`*.json`) in `dir`, sorted: for a history key, oldest first
/// (names are zero-padded start times). None when `dir` does not exist.
pub fn runs_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", dir.display())),
    };
    let mut runs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    runs.sort();
    Ok(runs)
}

impl History {
    pub fn new(root: PathBuf, label: &str) -> Result<History> {
        Ok(History {
            root,
            label: clean_label(label)?,
        })
    }

    /// Where runs of this label and fingerprint live.
    pub fn key_dir(&self, fingerprint: &str) -> PathBuf {
        self.root
            .join(format!("{}@{}", self.label, short(fingerprint)))
    }

    /// The newest `keep` runs of a key, oldest first. A file that is not a summary is an
    /// error naming it: a history silently missing runs would misstate the noise.
    pub fn load(&self, fingerprint: &str, keep: usize) -> Result<Vec<Stored>> {
        let runs = runs_in(&self.key_dir(fingerprint))?;
        let from = runs.len().saturating_sub(keep.max(1));
        runs[from..]
            .iter()
            .map(|p| {
                Ok(Stored {
                    path: p.clone(),
                    summary: crate::read_summary("--baseline-dir", p)?,
                })
            })
            .collect()
    }

    /// Adds a run (its summary JSON as `--summary-json` writes it) under its key, then
    /// keeps the newest `keep`; returns the new file and the removed ones.
    pub fn add(
        &self,
        summary: &Summary,
        json: &str,
        keep: usize,
    ) -> Result<(PathBuf, Vec<PathBuf>)> {
        let dir = self.key_dir(&summary.fingerprint);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("--baseline-dir {}: cannot create", dir.display()))?;
        let stem = format!("{:013}", summary.started_at_ms);
        let mut path = dir.join(format!("{stem}.json"));
        let mut n = 1;
        while path.exists() {
            path = dir.join(format!("{stem}-{n}.json"));
            n += 1;
        }
        // Written aside and renamed, so a reader never sees half a run.
        let tmp = dir.join(format!(".{stem}.json.tmp"));
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("--baseline-dir {}: cannot write", path.display()))?;
        let removed = prune_dir(&dir, keep)?;
        Ok((path, removed))
    }

    /// Every key under the root (of this label only, when `only_label`).
    pub fn keys(&self, only_label: bool) -> Result<Vec<Key>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot read", self.root.display()));
            }
        };
        let mut keys = Vec::new();
        for e in entries.flatten() {
            let dir = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((label, fingerprint)) = name.rsplit_once('@') else {
                continue;
            };
            if !dir.is_dir() || (only_label && label != self.label) {
                continue;
            }
            keys.push(Key {
                runs: runs_in(&dir)?,
                label: label.to_string(),
                fingerprint: fingerprint.to_string(),
                dir,
            });
        }
        keys.sort_by(|a, b| (&a.label, &a.fingerprint).cmp(&(&b.label, &b.fingerprint)));
        Ok(keys)
    }

    /// Keeps the newest `keep` runs of every key (of this label, when `only_label`).
    pub fn prune(&self, keep: usize, only_label: bool) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        for k in self.keys(only_label)? {
            removed.extend(prune_dir(&k.dir, keep)?);
        }
        Ok(removed)
    }
}

fn prune_dir(dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    let runs = runs_in(dir)?;
    let old = runs.len().saturating_sub(keep.max(1));
    for p in &runs[..old] {
        std::fs::remove_file(p).with_context(|| format!("{}: cannot remove", p.display()))?;
    }
    Ok(runs[..old].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_safe_directory_names() {
        assert_eq!(clean_label("feature/login").unwrap(), "feature-login");
        assert_eq!(clean_label(" main ").unwrap(), "main");
        assert_eq!(clean_label(&"x".repeat(500)).unwrap().len(), MAX_LABEL);
        let e = clean_label("..").unwrap_err().to_string();
        assert!(e.starts_with("--baseline-label \"..\""), "{e}");
        assert!(clean_label("").is_err());
    }
}
