#!/usr/bin/env bash
# The whole suite: unit, integration (real Kafka + Elasticsearch, started here if not running, stopped
# after), browser (Debian's Chromium), then the database tests again on PostgreSQL, then lint.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1
mkdir -p test-artifacts
started=$(date +%s)
status=0

# Engines once for the whole run (pytest's session fixture reuses them); stopped on exit if we started them.
if ! $BIN/listening-center engines status >/dev/null 2>&1; then
  $BIN/listening-center engines start || { echo "could not start Kafka/Elasticsearch (see above)"; exit 1; }
  trap '$BIN/listening-center engines stop' EXIT
fi
$BIN/pytest -q -p no:cacheprovider tests "$@" || status=$?

if [ $status -eq 0 ] && [ -z "${LC_SKIP_POSTGRES:-}" ]; then
  echo "== database tests on PostgreSQL =="
  bash infra/scripts/with-postgres.sh $BIN/pytest -q -p no:cacheprovider -m postgres_too tests || status=$?
fi

echo "== lint =="
$BIN/ruff check . || status=1
$BIN/mypy || status=1
echo "suite took $(( $(date +%s) - started ))s"
exit $status
