#!/usr/bin/env bash
# Runs the whole test suite against SQLite and a throwaway PostgreSQL 15 that this script starts
# (temp dir, unix socket only, fsync off) and stops again. Extra arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "PostgreSQL server binaries not found in $PG_BIN (install postgresql-15, or set PG_BIN)" >&2
  exit 1
fi

pg_dir=$(mktemp -d /tmp/kongflow-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" = "0" ]; then
  chown postgres:postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap cleanup EXIT

"${as_pg[@]}" "$PG_BIN/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync >"$pg_dir/initdb.log" 2>&1 \
  || { cat "$pg_dir/initdb.log" >&2; exit 1; }
# No TCP listener: the socket lives in our own temp dir, so any other PostgreSQL on the machine is untouched.
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
  -o "-c listen_addresses='' -c unix_socket_directories=$pg_dir -p 5432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
  start >/dev/null || { cat "$pg_dir/server.log" >&2; exit 1; }

export KONGFLOW_TEST_POSTGRES_URL="postgres://postgres@localhost:5432/postgres?host=$pg_dir"
export KONGFLOW_TEST_REQUIRE_POSTGRES=1
echo "PostgreSQL for tests: $KONGFLOW_TEST_POSTGRES_URL"

# Build everything first (executables included: some tests run `kongflow` as a real process).
swift build --build-tests --enable-code-coverage "$@"
swift test --skip-build --enable-code-coverage "$@" 2>&1 | tee "$pg_dir/test.log"
status=${PIPESTATUS[0]}

if [ "$status" = "0" ] && [ -z "${KONGFLOW_SKIP_COVERAGE:-}" ]; then
  scripts/coverage.sh || true
fi
exit "$status"
