//! The SDKs and the WIT vendored into this binary: what `stampede new` writes into a
//! project and what `stampede run FILE.py|.js|.ts` builds with, so neither needs a
//! Stampede checkout.

use std::path::Path;

use include_dir::{Dir, File, include_dir};
use sha2::{Digest, Sha256};

pub static WIT: &str = include_str!("../../../wit/scenario.wit");
pub static RUST_SDK: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/rust/src");
pub static JS_SDK_SRC: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/js/src");
pub static JS_SDK_BIN: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/js/bin");
pub static JS_SDK_PACKAGE: &str = include_str!("../../../sdk/js/package.json");
/// The exact npm packages the JS build was tested with.
pub static JS_SDK_LOCK: &str = include_str!("../../../sdk/js/package-lock.json");
pub static PY_SDK: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/python/stampede");
/// Locust's scripting API on the Python SDK (`from locust import HttpUser`).
pub static PY_LOCUST: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/python/locust");
pub static PY_BUILD: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/python/stampede_build");
/// The pinned PyPI packages of the guest builds (componentize-py for Python).
pub static PY_REQUIREMENTS: &str = include_str!("../../../sdk/build/requirements.txt");
pub static GO_SDK: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/go");

/// Every file under `dir`, bytecode caches left out (they are whatever the build
/// machine's Python left behind, not part of the SDK).
pub fn walk<'a>(dir: &'a Dir<'a>) -> Vec<&'a File<'a>> {
    let mut files: Vec<_> = dir
        .files()
        .filter(|f| f.path().extension().is_none_or(|x| x != "pyc"))
        .collect();
    for d in dir.dirs() {
        if d.path().file_name().is_some_and(|n| n == "__pycache__") {
            continue;
        }
        files.extend(walk(d));
    }
    files.sort_by_key(|f| f.path());
    files
}

/// The files of `dir` relative to it, with their contents.
pub fn files_of<'a>(dir: &'a Dir<'a>) -> Vec<(&'a Path, &'a [u8])> {
    walk(dir)
        .into_iter()
        .map(|f| {
            (
                f.path().strip_prefix(dir.path()).expect("under its dir"),
                f.contents(),
            )
        })
        .collect()
}

/// A short hash of named contents: what identifies an SDK's version in a cache key.
pub fn hash<'a>(parts: impl IntoIterator<Item = (&'a Path, &'a [u8])>) -> String {
    let mut h = Sha256::new();
    for (path, bytes) in parts {
        h.update(path.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    format!("{:x}", h.finalize())[..16].to_string()
}
