#!/usr/bin/env bash
# Installs what the report tests open their files with: Debian's chromium (headless,
# for the HTML report) and xmllint (to validate the JUnit XML against its schema).
# Called by .ci/run, and by the tests themselves when the tools are missing.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v xmllint >/dev/null || need+=(libxml2-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "stampede tests: missing ${need[*]}; install them (Debian/Ubuntu: sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "stampede tests: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${need[@]}" >/dev/null
