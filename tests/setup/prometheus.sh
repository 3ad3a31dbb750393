#!/usr/bin/env bash
# Installs Prometheus (Debian's package, without its recommended extras) for the live
# metrics tests, which start their own server on 127.0.0.1 with a config of their own.
# Called by .ci/run, and by the tests themselves when it is missing.
set -euo pipefail
command -v prometheus >/dev/null && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "stampede tests: missing prometheus; install it (Debian/Ubuntu: sudo apt-get install -y --no-install-recommends prometheus)" >&2
  exit 1
fi
echo "stampede tests: installing prometheus with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends prometheus >/dev/null

