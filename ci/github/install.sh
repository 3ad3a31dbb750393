#!/usr/bin/env bash
# Puts `stampede` on the job's PATH: the one already there, the cached build in
# ~/.stampede, or a build of this checkout of the action (`cargo install`, a few
# minutes on a hosted runner; cached for the next run).
set -euo pipefail
root="$HOME/.stampede"
if command -v stampede >/dev/null; then
  echo "stampede: using $(command -v stampede) ($(stampede --version))"
  exit 0
fi
if [ ! -x "$root/bin/stampede" ]; then
  src="$(cd "$(dirname "$0")/../.." && pwd)"
  echo "stampede: building from $src (cached afterwards)"
  cargo install --locked --path "$src/host/cli" --root "$root"
fi
echo "$root/bin" >> "${GITHUB_PATH:-/dev/null}"
echo "stampede: $("$root/bin/stampede" --version)"
