#!/usr/bin/env bash
# PostgreSQL stopped and restarted under a running server (RELIABILITY.md). Starts its own throwaway
# PostgreSQL, a `kongflow serve` whose only wake-up is LISTEN/NOTIFY (poll interval 120 s) and the
# example endpoint declaring 3,000 jobs; creates the endpoint, stops PostgreSQL in the middle of its
# registration, checks that the API answers 503 instead of hanging, starts PostgreSQL again and
# checks that everything registers exactly once without restarting Kongflow.
# Usage: scripts/reliability/postgres-restart.sh   (KONGFLOW=path/to/kongflow to skip the build)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/postgres.sh
if [ -z "${KONGFLOW:-}" ]; then
  swift build --product kongflow >/dev/null
  KONGFLOW="$(swift build --show-bin-path)/kongflow"
fi
WORK="$PG_DIR/restart"
mkdir -p "$WORK"
export LLVM_PROFILE_FILE="$WORK/kongflow-%p.profraw" # a coverage build would otherwise write into the checkout
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_stop
}
trap cleanup EXIT

failures=0
check() { # description, then a command that must succeed
  local what="$1"; shift
  if "$@"; then echo "PASS  $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}
wait_for() { # regex, file, seconds: prints the first capture group
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    if [[ "$(cat "$2" 2>/dev/null)" =~ $1 ]]; then echo "${BASH_REMATCH[1]}"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for /$1/ in $2" >&2; cat "$2" >&2; return 1
}
sql() { "${PG_AS[@]}" psql -h "$PG_DIR" -U postgres -d postgres -tAq -c "$1"; }
pg() { "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 "$@" >/dev/null; }

"$KONGFLOW" serve --port 0 --database-url "$PG_URL" --poll-interval 120 --log-level "${KONGFLOW_LOG_LEVEL:-info}" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
PORT=$(wait_for 'address=http://127\.0\.0\.1:([0-9]+)' "$WORK/serve.log" 60)
KEY=$(wait_for 'API key \(shown once[^)]*\): (tr_dev_[A-Za-z0-9]{20})' "$WORK/serve.log" 60)
API="http://127.0.0.1:$PORT"
"$KONGFLOW" example-endpoint --port 0 --api-key "$KEY" --api-url "$API" --id big --extra-jobs 2990 >"$WORK/example.log" 2>&1 &
PIDS+=($!)
ENDPOINT=$(wait_for 'url=(http://127\.0\.0\.1:[0-9]+/api/trigger)' "$WORK/example.log" 60)

status_of() { curl -s -o "$WORK/body" -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $KEY" "$@" || true; }
check "create the endpoint" test "$(status_of -X POST -H 'content-type: application/json' \
  -d "{\"id\":\"big\",\"url\":\"$ENDPOINT\"}" "$API/api/v1/endpoints")" = 200

# Stop PostgreSQL as soon as registration has started, so that it dies mid-way.
deadline=$((SECONDS + 120))
registered=0
until [ "$registered" -gt 0 ] || [ $SECONDS -gt $deadline ]; do
  registered=$(sql 'SELECT COUNT(*) FROM endpoint_index_registrations' 2>/dev/null || echo 0)
  sleep 0.02
done
pg stop -m fast
echo "PostgreSQL stopped with $registered of 3,003 items registered"
check "the stop landed mid-registration" test "$registered" -gt 0 -a "$registered" -lt 3003

start=$SECONDS
# A route that reads the database (whoami is answered from the verified-key cache alone).
code=$(status_of "$API/api/v1/endpoints")
took=$((SECONDS - start))
check "API answers 503 while PostgreSQL is down (got $code after ${took}s)" test "$code" = 503
check "... with a clear message ($(cat "$WORK/body"))" grep -q 'Database unavailable' "$WORK/body"
check "... within the 5 s connect timeout, not a hang" test "$took" -le 7
check "/healthz stays 200" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$API/healthz" || true)" = 200
check "/readyz is 503" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$API/readyz" || true)" = 503
sleep 3 # an outage of several seconds: the worker's claims and completions fail meanwhile

pg start -o "-c listen_addresses='' -c unix_socket_directories=$PG_DIR -p 5432 -c fsync=off -c max_connections=400"
echo "PostgreSQL started"
restarted=$SECONDS
start=$SECONDS
until [ "$(status_of "$API/api/v1/endpoints")" = 200 ] || [ $((SECONDS - start)) -gt 30 ]; do sleep 0.2; done
check "API recovers by itself ($((SECONDS - start)) s after the restart)" test "$(status_of "$API/api/v1/endpoints")" = 200

# A new endpoint indexes promptly: the worker was woken by LISTEN/NOTIFY, not by its 120 s poll.
"$KONGFLOW" example-endpoint --port 0 --api-key "$KEY" --api-url "$API" --id small >"$WORK/small.log" 2>&1 &
PIDS+=($!)
SMALL=$(wait_for 'url=(http://127\.0\.0\.1:[0-9]+/api/trigger)' "$WORK/small.log" 60)
check "create another endpoint after the restart" test "$(status_of -X POST -H 'content-type: application/json' \
  -d "{\"id\":\"small\",\"url\":\"$SMALL\"}" "$API/api/v1/endpoints")" = 200
start=$SECONDS
until [ "$(sql "SELECT COUNT(*) FROM endpoint_indexes i JOIN endpoints e ON e.id = i.endpoint_id WHERE e.slug = 'small' AND i.status = 'SUCCESS'")" = 1 ] \
  || [ $((SECONDS - start)) -gt 60 ]; do sleep 0.2; done
took=$((SECONDS - start))
check "LISTEN resumed: the new endpoint indexed in ${took}s (poll interval 120 s)" test "$took" -lt 30

# The interrupted registration finishes: the statement cut off by the stop fails as soon as the
# restart is seen (the store reads the server's start time every 2 s; before, it waited for the 60 s
# work deadline), and its job is retried after its first backoff (about 3 s).
registered_big() { sql "SELECT COUNT(*) FROM endpoint_index_registrations r JOIN endpoint_indexes i ON i.id = r.index_id JOIN endpoints e ON e.id = i.endpoint_id WHERE e.slug = 'big' AND r.status = 'REGISTERED'"; }
until [ "$(registered_big)" = 3003 ] || [ $((SECONDS - restarted)) -gt 120 ]; do sleep 0.2; done
flowed=$((SECONDS - restarted))
echo "the interrupted registration completed $flowed s after PostgreSQL restarted"
check "the interrupted work flowed again within 15 s of the restart (${flowed} s)" test "$flowed" -le 15
start=$SECONDS
until [ "$(sql 'SELECT COUNT(*) FROM kongflow_jobs WHERE task_identifier <> $$fireSchedule$$')" = 0 ] || [ $((SECONDS - start)) -gt ${DRAIN_SECONDS:-180} ]; do sleep 0.5; done
echo "queue drained $((SECONDS - restarted)) s after PostgreSQL restarted"
check "no job left in the queue (but the schedules' next ticks)" test "$(sql 'SELECT COUNT(*) FROM kongflow_jobs WHERE task_identifier <> $$fireSchedule$$')" = 0
# Both example endpoints declare the same 10 jobs plus the big one's 2,990 generated ones.
check "every declared job registered exactly once: 3,000 jobs" test "$(sql 'SELECT COUNT(*) FROM jobs')" = 3000
check "... with 3,000 versions and 3,000 latest aliases" test "$(sql 'SELECT COUNT(*) FROM job_versions')/$(sql 'SELECT COUNT(*) FROM job_aliases')" = 3000/3000
check "every item of the index recorded as REGISTERED" test "$(sql "SELECT COUNT(*) FROM endpoint_index_registrations r JOIN endpoint_indexes i ON i.id = r.index_id JOIN endpoints e ON e.id = i.endpoint_id WHERE e.slug = 'big' AND r.status = 'REGISTERED'")" = 3003
check "every index terminal" test "$(sql "SELECT COUNT(*) FROM endpoint_indexes WHERE status NOT IN ('SUCCESS', 'FAILURE')")" = 0
check "the server logged the outage" grep -qiE 'database unavailable|heartbeat failed|claim failed' "$WORK/serve.log"
check "the server is still running" kill -0 "${PIDS[0]}"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed. Jobs left:"
  sql "SELECT id, task_identifier, queue_name, attempts, max_attempts, locked_by, locked_at, left(last_error, 200) FROM kongflow_jobs ORDER BY id" || true
  cp "$WORK/serve.log" /tmp/kongflow-restart-serve.log
  echo "Server log (warnings and errors; all of it in /tmp/kongflow-restart-serve.log):"; grep -E "warning|error|critical" "$WORK/serve.log" | tail -40
  exit 1
fi
echo "postgres-restart: all checks passed"
