#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL server (Debian's binaries) and LC_TEST_DATABASE_URL pointing at
# it. The server refuses to run as root, so as root it runs as the `postgres` system user.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ]; then
  echo "PostgreSQL server binaries not found: apt-get install postgresql (make test does this as root)" >&2
  exit 1
fi
PORT=${LC_TEST_PG_PORT:-55432}
dir=$(mktemp -d /tmp/lc-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; as_pg=(runuser -u postgres --); fi
"${as_pg[@]}" "$PGBIN/initdb" -D "$dir/data" -A trust -U lc >/dev/null
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
cleanup() { "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
export LC_TEST_DATABASE_URL="postgresql+psycopg://lc@127.0.0.1:$PORT/postgres"
"$@"
