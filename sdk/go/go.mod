module stampede.dev/sdk

go 1.27.1

require go.bytecodealliance.org/pkg v0.4.0

// The component-model runtime package the generated bindings use, vendored from the
// wit-bindgen-cli 0.63 crate (the Go module proxy is not needed). A scenario's go.mod
// repeats this replace: only the main module's replaces apply.
replace go.bytecodealliance.org/pkg => ./third_party/go-pkg
