//! `stampede run FILE.py|.js|.mjs|.ts`: a scenario given as source is built into a
//! component with the pinned toolchains, once. The component is cached by the hash of
//! the vendored SDK, the toolchain pins and the sources (for Python, the source's
//! folder; for JS, the files its last build read, which the builder lists); the toolchains
//! (componentize-py in a virtualenv, the JS SDK's npm packages) are provisioned under
//! the cache directory on first use, with a line saying so.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::sdk;

/// Source files hashed beside a scenario at most, and their bytes: a scenario in a
/// folder of its own is far below; a home directory is refused rather than read.
const MAX_FILES: usize = 2_000;
const MAX_BYTES: u64 = 32 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Python,
    Js,
}

/// Python sources hashed beside a scenario (a script may import its neighbours).
const PY_EXTENSIONS: &[&str] = &["py", "pyi"];

/// The source language of a scenario path, by extension; `None` for a component.
pub fn kind_of(path: &Path) -> Option<Kind> {
    match path.extension()?.to_str()? {
        "py" => Some(Kind::Python),
        "js" | "mjs" | "ts" | "mts" => Some(Kind::Js),
        _ => None,
    }
}

/// A built component.
pub struct Built {
    pub wasm: Vec<u8>,
    /// Taken from the cache, not built now.
    pub cached: bool,
    pub path: PathBuf,
}

/// The component of a source scenario: from `cache` when its inputs are unchanged,
/// else built now (provisioning the toolchain first if this machine has none yet).
/// `note` receives progress lines.
pub fn build(entry: &Path, cache: &Path, note: &mut dyn FnMut(&str)) -> Result<Built> {
    let Some(kind) = kind_of(entry) else {
        bail!("{}: not a .py, .js, .mjs or .ts scenario", entry.display());
    };
    let entry = std::fs::canonicalize(entry)
        .with_context(|| format!("{}: no such file", entry.display()))?;
    if !entry.is_file() {
        bail!("{}: not a file", entry.display());
    }
    let (sdk_hash, sdk_files) = sdk_files(kind);
    let built_dir = cache.join("built");
    let mut h = Sha256::new();
    h.update(format!("{kind:?}\0{sdk_hash}\0").as_bytes());
    // Python: every source in the folder. JS: the files the last build of this entry
    // read (its manifest), so files the build never reads (a summary written beside
    // the script) do not force a new one.
    let manifest = match kind {
        Kind::Python => {
            hash_sources(&entry, cache, &mut h)?;
            None
        }
        Kind::Js => {
            h.update(entry.as_os_str().as_encoded_bytes());
            let id = format!("{:x}", h.clone().finalize());
            Some(built_dir.join(format!("{}.inputs", &id[..32])))
        }
    };
    let key_of = |h: &Sha256, inputs: Option<&[PathBuf]>| -> String {
        let mut h = h.clone();
        if let Some(files) = inputs {
            hash_inputs(files, &mut h);
        }
        format!("{:x}", h.finalize())
    };
    let known = manifest.as_deref().and_then(read_manifest);
    if manifest.is_none() || known.is_some() {
        let key = key_of(&h, known.as_deref());
        let out = built_dir.join(format!("{}.wasm", &key[..32]));
        if let Ok(wasm) = std::fs::read(&out) {
            return Ok(Built {
                wasm,
                cached: true,
                path: out,
            });
        }
    }
    let sdk_dir = materialize(cache, kind, &sdk_hash, &sdk_files)?;
    let name = entry
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let started = Instant::now();
    let mut cmd = match kind {
        Kind::Python => {
            let python = python_toolchain(cache, note)?;
            let mut c = Command::new(python);
            c.args(["-m", "stampede_build", "build"])
                .env("PYTHONPATH", &sdk_dir)
                .env("PYTHONDONTWRITEBYTECODE", "1");
            c
        }
        Kind::Js => {
            js_toolchain(&sdk_dir, note)?;
            let mut c = Command::new("node");
            c.arg(sdk_dir.join("bin/stampede-js.js")).arg("build");
            // The engine spliced with the world's bindings is every script's: kept.
            c.arg("--splice-cache").arg(cache.join("js-splice"));
            c
        }
    };
    note(&format!(
        "building {name} (once; later runs start from the cache)"
    ));
    std::fs::create_dir_all(&built_dir)
        .with_context(|| format!("{}: cannot create", cache.display()))?;
    let tmp = built_dir.join(format!("build-{}.tmp", std::process::id()));
    let tmp_inputs = tmp.with_extension("inputs");
    cmd.arg(&entry)
        .arg("-o")
        .arg(&tmp)
        .arg("--wit")
        .arg(sdk_dir.join("wit"));
    if manifest.is_some() {
        cmd.arg("--inputs").arg(&tmp_inputs);
    }
    let result = cmd
        .output()
        .with_context(|| format!("{name}: cannot start the {kind:?} build"))?;
    if !result.status.success() {
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(&tmp_inputs);
        bail!("{}", builder_error(&name, &result.stderr, &result.stdout));
    }
    let inputs = match &manifest {
        Some(_) => Some(
            read_manifest(&tmp_inputs)
                .with_context(|| format!("{name}: the build did not list the files it read"))?,
        ),
        None => None,
    };
    let key = key_of(&h, inputs.as_deref());
    let out = built_dir.join(format!("{}.wasm", &key[..32]));
    std::fs::rename(&tmp, &out).with_context(|| format!("{}: cannot write", out.display()))?;
    // After the component: a manifest always names a build that exists.
    if let Some(m) = &manifest {
        std::fs::rename(&tmp_inputs, m)
            .with_context(|| format!("{}: cannot write", m.display()))?;
    }
    note(&format!(
        "built {name} in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(Built {
        wasm: std::fs::read(&out)?,
        cached: false,
        path: out,
    })
}

/// `stampede build`: a source scenario to a component file.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildArgs {
    /// The scenario's source: a `.py` (Locust-style or the Python SDK), `.js`, `.mjs` or
    /// `.ts` file.
    pub scenario: PathBuf,
    /// Where to write the component.
    #[arg(short, long, value_name = "OUT.wasm")]
    pub out: PathBuf,
    /// Where toolchains and built components are kept (default: the compile cache,
    /// `$STAMPEDE_CACHE_DIR` or ~/.cache/stampede).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

pub fn build_command(args: &BuildArgs) -> Result<u8> {
    let cache = args
        .cache_dir
        .clone()
        .or_else(stampede::engine::default_cache_dir)
        .unwrap_or_else(|| std::env::temp_dir().join("stampede-build"));
    let built = build(&args.scenario, &cache, &mut |line| {
        eprintln!("stampede: {line}")
    })?;
    std::fs::write(&args.out, &built.wasm)
        .with_context(|| format!("-o {}: cannot write", args.out.display()))?;
    eprintln!(
        "stampede: {} -> {} ({:.1} MB{})",
        args.scenario.display(),
        args.out.display(),
        built.wasm.len() as f64 / 1e6,
        if built.cached { ", from the cache" } else { "" }
    );
    Ok(crate::exit::PASSED)
}

/// The builder's own one-line error (`stampede-py: x.py:3: SyntaxError: ...`), without
/// its prefix.
fn builder_error(name: &str, stderr: &[u8], stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(if stderr.is_empty() { stdout } else { stderr });
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("stampede-py: ") || l.starts_with("stampede-js: "))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("the build failed without a message");
    let line = line
        .trim_start_matches("stampede-py: ")
        .trim_start_matches("stampede-js: ");
    if line.starts_with(name) {
        line.to_string()
    } else {
        format!("{name}: {line}")
    }
}

/// The vendored SDK files a build of `kind` uses, and their hash.
fn sdk_files(kind: Kind) -> (String, Vec<(PathBuf, &'static [u8])>) {
    let mut files: Vec<(PathBuf, &'static [u8])> =
        vec![("wit/scenario.wit".into(), sdk::WIT.as_bytes())];
    let mut add = |dir: &'static include_dir::Dir<'static>, to: &str| {
        for (rel, bytes) in sdk::files_of(dir) {
            files.push((Path::new(to).join(rel), bytes));
        }
    };
    match kind {
        Kind::Python => {
            add(&sdk::PY_SDK, "stampede");
            add(&sdk::PY_LOCUST, "locust");
            add(&sdk::PY_BUILD, "stampede_build");
            files.push(("requirements.txt".into(), sdk::PY_REQUIREMENTS.as_bytes()));
        }
        Kind::Js => {
            add(&sdk::JS_SDK_SRC, "src");
            add(&sdk::JS_SDK_BIN, "bin");
            files.push(("package.json".into(), sdk::JS_SDK_PACKAGE.as_bytes()));
            files.push(("package-lock.json".into(), sdk::JS_SDK_LOCK.as_bytes()));
        }
    }
    let hash = sdk::hash(files.iter().map(|(p, b)| (p.as_path(), *b)));
    (hash, files)
}

/// Hashes a Python scenario's folder: every source file beneath it (a script may import
/// its neighbours), skipping dependency, cache and hidden folders.
fn hash_sources(entry: &Path, cache: &Path, h: &mut Sha256) -> Result<()> {
    // The cache may sit inside the project: its SDK copies are not the scenario's.
    let cache = std::fs::canonicalize(cache).unwrap_or_else(|_| cache.to_path_buf());
    let root = entry.parent().expect("a file is in a folder");
    h.update(entry.file_name().unwrap_or_default().as_encoded_bytes());
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut bytes = 0u64;
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                let skip = name.starts_with('.')
                    || ["node_modules", "__pycache__", "target", "venv"].contains(&name.as_ref())
                    || p.join("pyvenv.cfg").exists()
                    || p == cache;
                if !skip {
                    stack.push(p);
                }
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| PY_EXTENSIONS.contains(&x))
            {
                bytes += meta.len();
                files.push(p);
                if files.len() > MAX_FILES || bytes > MAX_BYTES {
                    bail!(
                        "{}: more than {MAX_FILES} source files or {} MiB beside {}; give the scenario a folder of its own",
                        root.display(),
                        MAX_BYTES >> 20,
                        entry.display()
                    );
                }
            }
        }
    }
    files.sort();
    let mut opened = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f);
        h.update(rel.as_os_str().as_encoded_bytes());
        h.update([0]);
        let text = std::fs::read(&f).with_context(|| format!("{}: cannot read", f.display()))?;
        opened.extend(literal_opens(&text));
        h.update(text);
    }
    // The module level runs when the component is built, in the scenario's folder: the
    // files it opens by a literal path are in the component, so they are in its key.
    opened.sort();
    opened.dedup();
    for rel in opened {
        let f = root.join(&rel);
        if let Ok(meta) = f.metadata()
            && meta.is_file()
        {
            bytes += meta.len();
            if bytes > MAX_BYTES {
                bail!(
                    "{}: the files the scenario opens at its module level are over {} MiB; read large test data at run time (--data) instead",
                    f.display(),
                    MAX_BYTES >> 20
                );
            }
            h.update(rel.as_bytes());
            h.update([0]);
            h.update(std::fs::read(&f).with_context(|| format!("{}: cannot read", f.display()))?);
        }
    }
    Ok(())
}

/// The paths in `open("...")` calls with a literal, relative path.
fn literal_opens(src: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(src);
    let mut out = Vec::new();
    for (at, _) in text.match_indices("open(") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // urlopen(, reopen(
        }
        let rest = text[at + 5..].trim_start();
        let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = rest[1..].find(q) {
            let path = &rest[1..1 + end];
            if !path.is_empty() && !path.starts_with('/') && !path.contains("..") {
                out.push(path.to_string());
            }
        }
    }
    out
}

/// The files a JS build read, as its `--inputs` listed them.
fn read_manifest(path: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter(|l| !l.is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

/// Each input's path and bytes; one that cannot be read hashes as missing, so the
/// key changes and the build runs (and says what is wrong).
fn hash_inputs(files: &[PathBuf], h: &mut Sha256) {
    for f in files {
        h.update(f.as_os_str().as_encoded_bytes());
        match std::fs::read(f) {
            Ok(bytes) => {
                h.update([0]);
                h.update(&bytes);
            }
            Err(_) => h.update([1]),
        }
    }
}

/// Holds a lock file while provisioning, so two runs starting at once on one machine
/// do not install into the same folder together.
fn locked(path: &Path) -> Result<File> {
    std::fs::create_dir_all(path.parent().expect("in a folder"))?;
    let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    f.lock()
        .with_context(|| format!("{}: cannot lock", path.display()))?;
    Ok(f)
}

/// The SDK's files written under the cache, once per SDK version.
fn materialize(
    cache: &Path,
    kind: Kind,
    hash: &str,
    files: &[(PathBuf, &[u8])],
) -> Result<PathBuf> {
    let dir = cache
        .join("sdk")
        .join(format!("{kind:?}-{hash}").to_lowercase());
    let _lock = locked(&cache.join("sdk").join(".lock"))?;
    let ready = dir.join(".complete");
    if ready.exists() {
        return Ok(dir);
    }
    for (rel, bytes) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("in a folder"))?;
        std::fs::write(&p, bytes).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    std::fs::write(&ready, b"")?;
    Ok(dir)
}

fn bin_dir(venv: &Path) -> PathBuf {
    venv.join(if cfg!(windows) { "Scripts" } else { "bin" })
}

/// A virtualenv with componentize-py at its pinned version; returns its Python.
fn python_toolchain(cache: &Path, note: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    let pin = sdk::PY_REQUIREMENTS
        .lines()
        .find(|l| l.starts_with("componentize-py=="))
        .expect("requirements.txt pins componentize-py");
    let venv = cache.join("toolchains").join(format!(
        "python-{}",
        sdk::hash([(Path::new(""), pin.as_bytes())])
    ));
    let python = bin_dir(&venv).join("python");
    let _lock = locked(&cache.join("toolchains").join(".python.lock"))?;
    if venv.join(".complete").exists() {
        return Ok(python);
    }
    let host = std::env::var("STAMPEDE_PYTHON").unwrap_or_else(|_| "python3".into());
    let version = Command::new(&host)
        .args([
            "-c",
            "import sys, venv; print('%d.%d' % sys.version_info[:2]); sys.exit(sys.version_info < (3, 10))",
        ])
        .output();
    match version {
        Err(_) => bail!(
            "building a Python scenario needs Python 3.10 or newer ({host} was not found): install it (e.g. apt install python3 python3-venv) or set STAMPEDE_PYTHON, or build the component elsewhere with `stampede build`"
        ),
        Ok(o) if !o.status.success() => bail!(
            "building a Python scenario needs Python 3.10 or newer with venv; {host} is {} (set STAMPEDE_PYTHON to another)",
            String::from_utf8_lossy(&o.stdout).trim()
        ),
        Ok(_) => {}
    }
    note(&format!(
        "first Python build here: installing {pin} into {} (once)",
        venv.display()
    ));
    run_quiet(
        Command::new(&host).arg("-m").arg("venv").arg(&venv),
        "creating the build's virtualenv",
    )?;
    run_quiet(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            pin,
        ]),
        &format!("installing {pin} from PyPI (needs network access once)"),
    )?;
    std::fs::write(venv.join(".complete"), b"")?;
    Ok(python)
}

/// The JS SDK's npm packages, installed beside it at their locked versions.
fn js_toolchain(sdk_dir: &Path, note: &mut dyn FnMut(&str)) -> Result<()> {
    let _lock = locked(&sdk_dir.join(".npm.lock"))?;
    if sdk_dir.join("node_modules/.complete").exists() {
        return Ok(());
    }
    let version = Command::new("node").arg("--version").output();
    let ok = matches!(&version, Ok(o) if o.status.success()
        && String::from_utf8_lossy(&o.stdout)
            .trim()
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| m >= 18));
    if !ok {
        bail!(
            "building a JavaScript or TypeScript scenario needs Node.js 18 or newer with npm (node was not found or is older): install it, or build the component elsewhere with `stampede build`"
        );
    }
    note(&format!(
        "first JavaScript build here: installing componentize-js and esbuild into {} (once)",
        sdk_dir.display()
    ));
    run_quiet(
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--omit=dev",
            ])
            .current_dir(sdk_dir),
        "installing the JS SDK's npm packages (needs network access once)",
    )?;
    std::fs::write(sdk_dir.join("node_modules/.complete"), b"")?;
    Ok(())
}

fn run_quiet(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        bail!("{what} failed: {}", last.trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_known_by_their_extension() {
        assert_eq!(kind_of(Path::new("locustfile.py")), Some(Kind::Python));
        assert_eq!(kind_of(Path::new("a/b.ts")), Some(Kind::Js));
        assert_eq!(kind_of(Path::new("x.mjs")), Some(Kind::Js));
        assert_eq!(kind_of(Path::new("x.wasm")), None);
    }

    #[test]
    fn literal_opens_are_found() {
        let src = br#"USERS = list(csv.DictReader(open( "data/users.csv")))
x = urlopen("http://x")
y = open('/etc/passwd'); z = open(f"{a}.csv"); w = open('b.json', "rb")"#;
        assert_eq!(literal_opens(src), ["data/users.csv", "b.json"]);
    }

    #[test]
    fn the_vendored_sdks_leave_out_bytecode_and_name_every_file() {
        let (_, py) = sdk_files(Kind::Python);
        assert!(
            py.iter()
                .all(|(p, _)| !p.to_string_lossy().contains("__pycache__"))
        );
        for want in [
            "stampede/__init__.py",
            "stampede_build/__init__.py",
            "wit/scenario.wit",
        ] {
            assert!(py.iter().any(|(p, _)| p == Path::new(want)), "{want}");
        }
        let (_, js) = sdk_files(Kind::Js);
        for want in ["src/index.js", "bin/stampede-js.js", "package-lock.json"] {
            assert!(js.iter().any(|(p, _)| p == Path::new(want)), "{want}");
        }
    }

    #[test]
    fn the_key_follows_the_neighbours_not_other_folders() {
        let dir = std::env::temp_dir().join(format!("stampede-src-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("node_modules")).unwrap();
        std::fs::write(dir.join("a.py"), "import b\n").unwrap();
        std::fs::write(dir.join("b.py"), "X = 1\n").unwrap();
        let key = || {
            let mut h = Sha256::new();
            hash_sources(&dir.join("a.py"), &dir.join("cache"), &mut h).unwrap();
            format!("{:x}", h.finalize())
        };
        let first = key();
        std::fs::write(dir.join("node_modules/c.py"), "ignored").unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        assert_eq!(key(), first);
        std::fs::write(dir.join("b.py"), "X = 2\n").unwrap();
        assert_ne!(key(), first, "a local import changed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
