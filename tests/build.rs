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
    ];
    let paths = stampede_guest_build::build(&guests);
    for (name, path) in guests.iter().zip(paths) {
        let var = format!("{}_WASM", name.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", path.display());
    }
    // The JavaScript versions of two journeys, built with the JS SDK (npm packages are
    // installed by this step).
    let js = [
        ("checkout-js", "plugins/checkout-js/checkout.js"),
        (
            "token-refresh-js",
            "plugins/token-refresh-js/token-refresh.js",
        ),
    ];
    let paths = stampede_guest_build::build_js(&js);
    for ((name, _), path) in js.iter().zip(paths) {
        let var = format!("{}_WASM", name.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", path.display());
    }
}
