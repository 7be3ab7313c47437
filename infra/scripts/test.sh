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
# Two long tests run beside the rest (which runs on 2 xdist workers), so the suite takes about as long as
# its slowest part, not their sum: the fault test on an engine pair of its own, and the alerting end to
# end, which waits in real time for a demo incident (about 4.5 minutes, mostly idle). Inside xdist the
# latter would start only when its worker reached it and then hold that worker to the end.
E2E=tests/integration/test_alerting_e2e.py
side=()
if [ $# -eq 0 ] && [ -z "${LC_SKIP_FAULTS:-}" ]; then
  $BIN/pytest -q -p no:cacheprovider tests/faults > test-artifacts/faults-pytest.log 2>&1 &
  side+=("$!:fault tests (tests/faults, own engine pair):test-artifacts/faults-pytest.log")
else
  echo "== fault tests NOT run (LC_SKIP_FAULTS set or pytest arguments given): make faults runs them =="
fi
rest=(tests)
if [ $# -eq 0 ]; then
  $BIN/pytest -q -p no:cacheprovider --durations=1 $E2E > test-artifacts/alerting-e2e-pytest.log 2>&1 &
  side+=("$!:alerting end to end ($E2E, beside the rest):test-artifacts/alerting-e2e-pytest.log")
  rest=(--ignore "$E2E" tests)
fi
$BIN/pytest -q -p no:cacheprovider -n 2 --dist worksteal --durations=15 --ignore tests/faults "${rest[@]}" "$@" || status=$?
for entry in "${side[@]}"; do
  pid=${entry%%:*}; rest_of=${entry#*:}; title=${rest_of%:*}; log=${rest_of##*:}
  sstatus=0
  wait "$pid" || sstatus=$?
  echo "== $title =="
  cat "$log"
  [ $sstatus -eq 0 ] || status=$sstatus
done

# After the rest, not beside it: with these beside it too, the 2 cores were oversubscribed and the one run
# tried lost 12 mentions in the fault test (docs/reliability.md, "Open: a stalled partition under load").
if [ $status -eq 0 ] && [ -z "${LC_SKIP_POSTGRES:-}" ]; then
  echo "== database tests on PostgreSQL =="
  bash infra/scripts/with-postgres.sh $BIN/pytest -q -p no:cacheprovider -m postgres_too tests || status=$?
fi

echo "== lint =="
$BIN/ruff check . || status=1
$BIN/mypy || status=1
echo "suite took $(( $(date +%s) - started ))s"
exit $status
