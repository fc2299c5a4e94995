# Starts a throwaway PostgreSQL 15 in a temp dir (unix socket only, fsync off) and stops it on exit.
# Source it; it sets PG_DIR and PG_URL (a postgres:// URL for database "postgres").
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "PostgreSQL server binaries not found in $PG_BIN (install postgresql-15, or set PG_BIN)" >&2
  exit 1
fi
PG_DIR=$(mktemp -d /tmp/kongflow-pg.XXXXXX)
PG_AS=()
if [ "$(id -u)" = "0" ]; then
  chown postgres:postgres "$PG_DIR"
  PG_AS=(runuser -u postgres --)
fi
pg_stop() {
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap pg_stop EXIT
"${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
# No TCP listener: the socket lives in our own temp dir, so any other PostgreSQL on the machine is untouched.
# max_connections: the suite's parallel tests (a pool of up to 20 each, LISTEN connections, the `kongflow`
# processes some of them start) peaked at 396 sessions, so 400 failed a test with "too many clients".
"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
  -o "-c listen_addresses='' -c unix_socket_directories=$PG_DIR -p 5432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000" \
  start >/dev/null || { cat "$PG_DIR/server.log" >&2; exit 1; }
PG_URL="postgres://postgres@localhost:5432/postgres?host=$PG_DIR"
