//! Builds the plugins and test fixtures to components and hands the tests their paths.
fn main() {
    let guests = [
        "smoke",
        "checkout",
        "token-refresh",
        "file-upload",
        "probe",
        "not-a-scenario",
        "hostile",
        "old-wit",
    ];
    let paths = stampede_guest_build::build(&guests);
    for (name, path) in guests.iter().zip(paths) {
        let var = format!("{}_WASM", name.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", path.display());
    }
    // JavaScript versions of the journeys, built with the JS SDK (npm packages are
    // installed by this step).
    let js = [
        ("checkout-js", "plugins/checkout-js/checkout.js"),
        (
            "token-refresh-js",
            "plugins/token-refresh-js/token-refresh.js",
        ),
        ("smoke-js", "plugins/smoke-js/smoke.js"),
    ];
    let paths = stampede_guest_build::build_js(&js);
    export(&js, paths);
    // Python (componentize-py from PyPI, in the project's own virtualenv).
    let py = [("smoke-py", "plugins/smoke-py/smoke_py.py")];
    let paths = stampede_guest_build::build_python(&py);
    export(&py, paths);
    // Go (Go and wasm-tools from PyPI; the SDK's build script).
    let go = [
        ("file-upload-go", "plugins/file-upload-go"),
        ("smoke-go", "plugins/smoke-go"),
        ("go-gc", "tests/fixtures/go-gc"),
    ];
    let paths = stampede_guest_build::build_go(&go);
    export(&go, paths);
}

/// Hands the tests each component's path as `<NAME>_WASM`.
fn export(guests: &[(&str, &str)], paths: Vec<std::path::PathBuf>) {
    for ((name, _), path) in guests.iter().zip(paths) {
        let var = format!("{}_WASM", name.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", path.display());
    }
}
