#!/usr/bin/env bash
# Debian packages the test suite needs beyond the machine image: Chromium for the browser tests and the
# PostgreSQL server for the second database run. Installed only when missing; as non-root, says what to do.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package starts a cluster of its own; the tests start their own server on another port.
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  service postgresql stop >/dev/null 2>&1 || true
fi
