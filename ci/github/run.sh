#!/usr/bin/env bash
# Runs `stampede run` with every report written to the reports folder, sets the step's
# outputs (exit-code, verdict, report paths) and exits with stampede's code, so the job
# passes or fails by the verdict. The Markdown summary goes to $GITHUB_STEP_SUMMARY
# (stampede appends it itself when that is set).
set -uo pipefail
bin="${STAMPEDE_BIN:-stampede}"
dir="${INPUT_REPORTS_DIR:-stampede-reports}"
mkdir -p "$dir"
args=(run)
[ -n "${INPUT_SCENARIO:-}" ] && args+=("$INPUT_SCENARIO")
[ -n "${INPUT_CONFIG:-}" ] && args+=(--config "$INPUT_CONFIG")
args+=(--summary-json "$dir/summary.json" --junit "$dir/junit.xml"
  --markdown "$dir/summary.md" --html "$dir/report.html")
# The extra arguments are words, as on a command line.
read -r -a extra <<< "${INPUT_ARGS:-}"
"$bin" "${args[@]}" "${extra[@]}"
code=$?
verdict=""
if [ -f "$dir/summary.json" ]; then
  verdict="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"]["headline"])' "$dir/summary.json" 2>/dev/null || true)"
fi
{
  echo "exit-code=$code"
  echo "verdict=$verdict"
  echo "summary-json=$dir/summary.json"
  echo "junit=$dir/junit.xml"
  echo "html=$dir/report.html"
  echo "markdown=$dir/summary.md"
} >> "${GITHUB_OUTPUT:-/dev/null}"
exit "$code"
