"""``stampede-py build scenario.py -o scenario.wasm``: makes a Python scenario a
WebAssembly component with componentize-py, against the stampede:scenario WIT world."""

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent.parent


def _wit_dir(given):
    candidates = [Path(given)] if given else [SDK_DIR / "wit", SDK_DIR.parent.parent / "wit"]
    for c in candidates:
        if (c / "scenario.wit").is_file():
            return c.resolve()
    sys.exit(f"stampede-py: no scenario.wit in {' or '.join(map(str, candidates))}; pass --wit DIR")


def _componentize_py():
    exe = Path(sys.executable).with_name("componentize-py")
    found = str(exe) if exe.exists() else shutil.which("componentize-py")
    if not found:
        sys.exit("stampede-py: componentize-py is not installed: pip install componentize-py==0.25.0")
    return found


def _one_line(report: str) -> str:
    """The line of componentize-py's report that names the problem: what follows
    "Caused by:" (the scenario's own exception, raised while it was pre-initialised at
    build time), else the last "...Error: ..." line."""
    lines = [l.strip() for l in report.splitlines() if l.strip()]
    if "Caused by:" in lines:
        i = lines.index("Caused by:")
        if i + 1 < len(lines):
            return lines[i + 1]
    errors = [l for l in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", l)]
    if errors:
        return errors[-1]
    return f"componentize-py failed: {lines[-1] if lines else 'no output'}"


def _where(report: str, entry: Path) -> str:
    """`file.py:LINE: ` of the innermost traceback frame in the scenario's folder
    (where a module-level exception was raised at build time), else the file's name."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', report)
    for path, line in reversed(frames):
        p = Path(path)
        if p.name == "stampede_scenario_main.py":
            return f"{entry.name}:{line}: "
        if p.name == entry.name or str(p).startswith(str(entry.parent)):
            return f"{p.name}:{line}: "
    return f"{entry.name}: "


def _uses_locust(entry: Path) -> bool:
    """Whether the scenario is a locustfile (imports ``locust``)."""
    tree = ast.parse(entry.read_bytes(), str(entry))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "locust" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "locust" and not node.level:
            return True
    return False


def build(entry: Path, out: Path, wit=None) -> None:
    entry = entry.resolve()
    if not entry.is_file() or entry.suffix != ".py":
        sys.exit(f"stampede-py: {entry}: expected a .py scenario file")
    # A syntax error is named with its line before the slower componentize step.
    try:
        compile(entry.read_bytes(), str(entry), "exec")
    except SyntaxError as e:
        sys.exit(f"stampede-py: {entry.name}:{e.lineno}: SyntaxError: {e.msg}")
    module = entry.stem
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="stampede-py-") as work:
        if not module.isidentifier() or module in ("stampede", "stampede_app", "locust"):
            # A file such as file-upload.py is imported under a name Python accepts.
            module = "stampede_scenario_main"
            shutil.copyfile(entry, Path(work, module + ".py"))
        # The entry module componentize-py exports: the scenario's user as `User`, and
        # for a locustfile the once-per-run events as `Run`.
        locust = _uses_locust(entry)
        # The module level runs in the scenario's folder (as the build mounted it),
        # so the files it opens by relative paths are found as beside it.
        entry_source = (
            "import os as _os, sys as _sys\n"
            f"_dir = next((p for p in _sys.path if _os.path.isfile(_os.path.join(p, {entry.name!r}))), None)\n"
            "if _dir:\n"
            "    _os.chdir(_dir)\n"
            f"import {module} as _scenario\n"
        )
        if locust:
            entry_source += (
                "from locust._runner import export as _export\n\n"
                "User, Run = _export(_scenario)\n"
            )
        else:
            entry_source += (
                "from stampede._export import export as _export\n\n"
                "User = _export(_scenario)\n"
            )
        Path(work, "stampede_app.py").write_text(entry_source)
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            _componentize_py(),
            "-d", str(_wit_dir(wit)),
            "-w", "scenario-with-setup" if locust else "scenario",
            "componentize", "stampede_app",
            "-p", work,
            "-p", str(entry.parent),
            "-p", str(SDK_DIR),
            "-o", str(out),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            report = r.stderr or r.stdout
            sys.exit(f"stampede-py: {_where(report, entry)}{_one_line(report)}")
    size = out.stat().st_size / 1e6
    print(f"stampede-py: {entry.name} -> {out} ({size:.1f} MB, {time.time() - t0:.1f} s)", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(prog="stampede-py", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a scenario to a component")
    b.add_argument("scenario", type=Path)
    b.add_argument("-o", "--out", type=Path, required=True)
    b.add_argument("--wit", help="directory holding scenario.wit")
    args = p.parse_args(argv)
    build(args.scenario, args.out, args.wit)


if __name__ == "__main__":
    main()
