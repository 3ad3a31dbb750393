//! The one place the WIT world becomes Rust types.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "scenario",
    // `http.send` and `checks.check` are linked by hand (`vu/calls.rs`), not through the
    // generated traits.
    imports: {
        "stampede:scenario/timing.sleep-ms": async,
    },
    exports: { default: async },
});

pub use exports::stampede::scenario::user;
pub use stampede::scenario::{checks, data, http, log, metrics, timing, vu};
