#!/usr/bin/env bash
# Prints `-p NAME` for every Rust guest (the SDK, and each plugin and fixture with a
# Cargo.toml), for cargo commands on the wasm32-wasip2 target: found by folder, no list.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo -n "-p stampede-sdk"
for manifest in plugins/*/Cargo.toml tests/fixtures/*/Cargo.toml; do
    name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -1)
    echo -n " -p $name"
done
echo
