#!/usr/bin/env python3
"""Builds {{wasm}}: makes .venv with componentize-py (from PyPI) when it is missing, then
runs the vendored Stampede build tool. Usage: python3 build.py"""

import os
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
PACKAGES = ["componentize-py==0.25.0"]


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
    env = dict(os.environ, PYTHONPATH=str(HERE / "vendor/stampede/sdk/python"), PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([py, "-m", "stampede_build", "build", HERE / "scenario.py", "-o", HERE / "{{wasm}}"], env=env)
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
