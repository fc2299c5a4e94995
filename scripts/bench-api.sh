#!/usr/bin/env bash
# API throughput (BENCHMARKS.md): wrk against POST /api/v1/endpoints (with a fast local endpoint) and
# GET /api/v1/endpoints, next to GET /healthz — a minimal route in the same process — as the ceiling,
# and POST /bench/ping-floor — the same PING call without database work — as POST's floor. The server is
# `kongflow-run-bench --serve-api`: `serve`'s wiring (API, dashboard, worker, keeper) plus that route.
# Needs wrk (Debian: apt-get install wrk). Usage: [ROUNDS=N] scripts/bench-api.sh [sqlite|postgres] [SECONDS] [URL-OPTIONS]
# URL-OPTIONS are added to PostgreSQL's URL: `statement_cache_size=0` measures without prepared statements.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:-sqlite}; SECONDS_PER_RUN=${2:-10}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
swift build -c release --product kongflow >/dev/null
swift build -c release --product kongflow-run-bench >/dev/null
KONGFLOW=$(swift build -c release --show-bin-path)/kongflow
SERVER=$(swift build -c release --show-bin-path)/kongflow-run-bench
WORK=$(mktemp -d)
if [ "$BACKEND" = postgres ]; then
  source scripts/lib/postgres.sh
  URL="$PG_URL${3:+&$3}"
else
  URL="sqlite:$WORK/api.sqlite"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port); EXAMPLE_PORT=$(free_port)
"$SERVER" --serve-api "$PORT" --database-url "$URL" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE=$!
for _ in $(seq 100); do grep -q 'tr_dev_' "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
KEY=$(grep -o 'tr_dev_[A-Za-z0-9]*' "$WORK/serve.out")
# --api-url: its webhook source registers through this server (activated once, not again on each index).
"$KONGFLOW" example-endpoint --port "$EXAMPLE_PORT" --api-key "$KEY" --api-url "http://127.0.0.1:$PORT" --id bench --log-level error &
EXAMPLE=$!
# Replaces postgres.sh's trap, so it stops that server too.
trap 'kill $SERVE $EXAMPLE 2>/dev/null || true; rm -rf "$WORK"; if declare -F pg_stop >/dev/null; then pg_stop; fi' EXIT
sleep 1
BASE="http://127.0.0.1:$PORT"
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"id":"bench","url":"http://127.0.0.1:$EXAMPLE_PORT/api/trigger"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
cat > "$WORK/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
run() { wrk -t2 -c16 -d"${SECONDS_PER_RUN}s" --latency "$@" 2>&1 | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {err=$4} END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s\n", rps, p50, p99, (err==""?0:err)}'; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; backend $BACKEND; wrk -t2 -c16 -d${SECONDS_PER_RUN}s"
# GET lists one endpoint with its latest index, as an environment in use does (an empty list measures
# little but the key check): register it, and let its index and registrations finish first.
curl -s -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"id\":\"bench\",\"url\":\"http://127.0.0.1:$EXAMPLE_PORT/api/trigger\"}" "$BASE/api/v1/endpoints"
busy() { curl -s "$BASE/metrics" | awk '/^kongflow_queue_jobs\{state="(available|running)"\}/ {n+=$2} END {print n+0}'; }
for _ in $(seq 100); do
  curl -s -H "Authorization: Bearer $KEY" "$BASE/api/v1/endpoints" | grep -q '"status":"SUCCESS"' && [ "$(busy)" = 0 ] && break
  sleep 0.1
done
# ROUNDS=N repeats the four runs on the same server, one round after another, and prints each round's
# ratios and their medians: this machine is shared and noisy, and a ratio's two sides must be measured
# side by side.
ROUNDS=${ROUNDS:-1}
ratios=()
ratio() { awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN {printf "%.1f", 100 * a / b}'; }
for round in $(seq "$ROUNDS"); do
  [ "$ROUNDS" = 1 ] || echo "round $round"
  # What the previous round's POSTs queued is drained first.
  for _ in $(seq 100); do [ "$(busy)" = 0 ] && break; sleep 0.1; done
  healthz=$(run "$BASE/healthz"); get=$(run -s "$WORK/get.lua" "$BASE/api/v1/endpoints")
  echo "ceiling  GET /healthz:            $healthz"
  echo "         GET /api/v1/endpoints:   $get"
  # The floor first: every POST queues an index of the endpoint, which the worker drains for a while after.
  floor=$(run -s "$WORK/post.lua" "$BASE/bench/ping-floor"); post=$(run -s "$WORK/post.lua" "$BASE/api/v1/endpoints")
  echo "floor    POST /bench/ping-floor:  $floor"
  echo "         POST /api/v1/endpoints:  $post"
  ratios+=("$(ratio "$get" "$healthz") $(ratio "$post" "$floor")")
  echo "ratios   GET / healthz $(ratio "$get" "$healthz")%, POST / floor $(ratio "$post" "$floor")%"
done
if [ "$ROUNDS" -gt 1 ]; then
  printf '%s\n' "${ratios[@]}" | python3 -c 'import sys, statistics as s; r = [l.split() for l in sys.stdin]; print("medians  GET / healthz %.1f%%, POST / floor %.1f%% over %d rounds" % (s.median(float(a) for a, _ in r), s.median(float(b) for _, b in r), len(r)))'
fi
# How many POSTs queued an index, and how many found one still pending (answered from one read).
echo "indexes: $(curl -s "$BASE/metrics" | awk '/^kongflow_endpoint_indexes_total/ {done+=$2} /^kongflow_endpoint_index_requests_coalesced_total/ {c=$2} END {printf "%d indexed, %d POSTs coalesced into a pending index", done, c}')"
echo "RSS after the runs: $(( $(ps -o rss= -p $SERVE) / 1024 )) MiB"
