# Stampede tasks. One build profile (release) serves build, tests and benchmarks.
set shell := ["bash", "-euo", "pipefail", "-c"]


# Run the demo: the bundled checkout scenario against the in-process demo target.
demo:
    cargo run --release --bin stampede -- demo

# Build every plugin: Rust ones to target/plugins/<name>.wasm, the others
# (plugins/<name>-js, -go, -py) to target/plugins/<name>-<lang>.wasm.
plugins:
    cargo build --release -p stampede-tests
    mkdir -p target/plugins
    for d in plugins/*/; do n=$(basename "$d"); if [ -f "$d/Cargo.toml" ]; then cp "target/guests/wasm32-wasip2/guest/${n//-/_}.wasm" "target/plugins/$n.wasm"; fi; done
    for d in plugins/*-js/ plugins/*-py/ plugins/*-go/; do n=$(basename "$d"); cp "target/guests/${n##*-}/$n.wasm" target/plugins/; done
    ls -l target/plugins

# The whole test suite (what CI runs).
test:
    bash .ci/run

# Benchmarks: CPU per request against a plain hyper loop (at 10 and 50 users; BENCH_VUS=a,b
# for others), memory per VU, instantiation,
# open-model schedule accuracy, the limits' cost, latency isolation between scenarios,
# segment merging, the journeys per plugin and language, the smoke journey per language
# (one part alone: BENCH_ONLY=ratio|instantiate|arrival|limits|isolation|merge|idle|
# journeys|languages|locust|k6 just bench). BENCH_ONLY=soak is the hour-long memory soak
# (BENCH_SOAK_MIN=10 for a shorter one); BENCH_ONLY=gate the baseline gate's A/A false
# failures and A/B detections (BENCH_GATE_RUNS=20 pairs of 20 s runs).
bench:
    cargo build --release --bin stampede
    cargo run --release -p stampede-tests --features bench --example bench

# Fuzz one target for a number of seconds with cargo-fuzz (nightly Rust, and
# `cargo install cargo-fuzz`): h1_response, threshold, config or merge. Findings land in
# tests/fuzz/artifacts/TARGET; the corpus grows in tests/fuzz/corpus/TARGET.
fuzz target seconds="300":
    mkdir -p tests/fuzz/corpus/{{target}}
    cargo +nightly fuzz run --fuzz-dir tests/fuzz -s none {{target}} tests/fuzz/corpus/{{target}} tests/fuzz/seeds/{{target}} -- -max_total_time={{seconds}} -rss_limit_mb=2048

# Format and lint the host, the tests and the guests.
lint:
    cargo fmt --all -- --check
    cargo clippy --release --all-targets --features stampede-tests/bench -- -D warnings
    cargo clippy --release --target wasm32-wasip2 $(bash tests/setup/guest-packages.sh) -- -D warnings

# Regenerate the Go SDK's committed bindings (sdk/go/imports, sdk/go/exports/wit_exports)
# from wit/ with wit-bindgen 0.63 (installed into target/toolchains on first use; gofmt
# comes with the Go of the project's virtualenv, made by the test build).
go-bindings:
    test -x target/toolchains/wit-bindgen/bin/wit-bindgen || cargo install wit-bindgen-cli --version 0.63.0 --no-default-features --features go --locked --root target/toolchains/wit-bindgen
    rm -rf sdk/go/imports sdk/go/exports/wit_exports
    PATH="$(ls -d $PWD/target/toolchains/venv/lib/python3*/site-packages/go/bin):$PATH" target/toolchains/wit-bindgen/bin/wit-bindgen go --pkg-name stampede.dev/sdk -w scenario --out-dir sdk/go wit
