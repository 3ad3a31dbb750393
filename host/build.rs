//! Bundles the smoke scenario into the binary, for `stampede demo`.
fn main() {
    let smoke = &stampede_guest_build::build(&["smoke"])[0];
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("smoke.wasm");
    std::fs::copy(smoke, &out).expect("copying the smoke component");
}
