//! Builds every guest of `plugins/` and `tests/fixtures/` to a component and hands the
//! tests their paths as constants (`SMOKE_WASM`, `PROBE_WASM`, ...). Guests are found by
//! folder, as Spin's test components are: a new fixture is one folder, in no list.
//!
//! - a folder with `Cargo.toml`: a Rust guest (a workspace member, as cargo requires);
//! - a folder with `go.mod`: a Go guest;
//! - a folder named `*-js` with one `.js` file: a JavaScript scenario;
//! - a folder named `*-py` with one `.py` file: a Python scenario.

use std::path::{Path, PathBuf};

fn main() {
    let root = stampede_guest_build::workspace_root();
    let (mut rust, mut js, mut py, mut go) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for base in ["plugins", "tests/fixtures"] {
        println!("cargo:rerun-if-changed={}", root.join(base).display());
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(base))
            .unwrap_or_else(|e| panic!("{base}: {e}"))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let rel = |p: &Path| p.strip_prefix(&root).unwrap().display().to_string();
            if dir.join("Cargo.toml").is_file() {
                // Cargo builds only workspace members: say so rather than fail obscurely.
                let members = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
                if !members.contains(&format!("\"{}\"", rel(&dir))) {
                    panic!(
                        "{}: a Rust guest must be a workspace member: add it to [workspace] members in Cargo.toml",
                        rel(&dir)
                    );
                }
                rust.push(name);
            } else if dir.join("go.mod").is_file() {
                go.push((name, rel(&dir)));
            } else if let Some(entry) = only_file(&dir, "js").filter(|_| name.ends_with("-js")) {
                js.push((name, rel(&entry)));
            } else if let Some(entry) = only_file(&dir, "py").filter(|_| name.ends_with("-py")) {
                py.push((name, rel(&entry)));
            } else {
                panic!(
                    "{}: not a guest (no Cargo.toml or go.mod, nor a -js/-py folder with one source file)",
                    rel(&dir)
                );
            }
        }
    }
    let mut consts = String::new();
    let rust_refs: Vec<&str> = rust.iter().map(String::as_str).collect();
    let paths = stampede_guest_build::build(&rust_refs);
    add(&mut consts, rust.iter().map(String::as_str).zip(paths));
    let pairs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
    for (list, build) in [
        (
            pairs(&js),
            stampede_guest_build::build_js as fn(&[(&str, &str)]) -> Vec<PathBuf>,
        ),
        (pairs(&py), stampede_guest_build::build_python),
        (pairs(&go), stampede_guest_build::build_go),
    ] {
        let refs: Vec<(&str, &str)> = list.iter().map(|(n, p)| (n.as_str(), p.as_str())).collect();
        let paths = build(&refs);
        add(&mut consts, refs.iter().map(|(n, _)| *n).zip(paths));
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("guests.rs");
    std::fs::write(out, consts).unwrap();
}

/// `pub const NAME_WASM: &str = "path";` for each guest.
fn add<'a>(out: &mut String, guests: impl Iterator<Item = (&'a str, PathBuf)>) {
    for (name, path) in guests {
        let var = format!("{}_WASM", name.to_uppercase().replace('-', "_"));
        out.push_str(&format!(
            "/// The `{name}` guest, built.\npub const {var}: &str = {:?};\n",
            path.display().to_string()
        ));
    }
}

/// The one file of `dir` with extension `ext` (hidden and `_`-prefixed files aside).
fn only_file(dir: &Path, ext: &str) -> Option<PathBuf> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            !n.starts_with('.') && !n.starts_with('_')
        })
        .collect();
    match files.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}
