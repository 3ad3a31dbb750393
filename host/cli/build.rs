//! Bundles the checkout scenario into the binary, for `stampede demo`.
fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("checkout.wasm");
    // The fuzz targets (`tests/fuzz`, nightly, no wasm target) use the config parser,
    // not the demo: no guest to build for them.
    if std::env::var_os("CARGO_CFG_FUZZING").is_some() {
        std::fs::write(&out, b"").expect("writing an empty demo component");
        return;
    }
    let checkout = &stampede_guest_build::build(&["checkout"])[0];
    std::fs::copy(checkout, &out).expect("copying the checkout component");
}
