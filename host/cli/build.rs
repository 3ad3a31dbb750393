//! Bundles the checkout scenario into the binary, for `stampede demo`.
fn main() {
    let checkout = &stampede_guest_build::build(&["checkout"])[0];
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("checkout.wasm");
    std::fs::copy(checkout, &out).expect("copying the checkout component");
}
