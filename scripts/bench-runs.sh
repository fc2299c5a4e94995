#!/usr/bin/env bash
# Runs at speed (BENCHMARKS.md): event → first EXECUTE_JOB latency and end-to-end runs/s of a job with
# one log and one task, on PostgreSQL and SQLite, next to the floors measured in the same run (the
# bare HTTP round trip to the endpoint, the queue's own enqueue-to-start latency).
# Usage: scripts/bench-runs.sh [SAMPLES] [RUNS]   (default 300 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=${1:-300}; RUNS=${2:-2000}
source scripts/lib/postgres.sh
swift build -c release --product kongflow-run-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/kongflow-run-bench
"${PG_AS[@]}" psql -h "$PG_DIR" -U postgres -q -c "CREATE DATABASE run_bench" >/dev/null
SQLITE_DIR=$(mktemp -d)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); samples=$SAMPLES runs=$RUNS"
pg=$("$BENCH" --database-url "postgres://postgres@localhost:5432/run_bench?host=$PG_DIR" --samples "$SAMPLES" --runs "$RUNS" 2>/dev/null | tail -1)
lite=$("$BENCH" --database-url "sqlite:$SQLITE_DIR/run_bench.sqlite" --samples "$SAMPLES" --runs "$RUNS" 2>/dev/null | tail -1)
rm -rf "$SQLITE_DIR"
python3 - "$pg" "$lite" <<'PY'
import json, sys
pg, lite = (json.loads(a) for a in sys.argv[1:3])
rows = [("event → EXECUTE_JOB p50 (ms)", "event_to_execute_p50_ms"), ("event → EXECUTE_JOB p99 (ms)", "event_to_execute_p99_ms"),
        ("floor: HTTP round trip to the endpoint p50 (ms)", "endpoint_round_trip_p50_ms"), ("floor: queue enqueue → start p50 (ms)", "queue_latency_p50_ms"),
        ("runs/s (log + task, end to end)", "runs_per_s"), ("runs / in database / SUCCESS / executed exactly once", None)]
print("| metric | PostgreSQL | SQLite |")
print("|---|---|---|")
for label, key in rows:
    if key is None:
        f = lambda r: f"{int(r['runs'])} / {int(r['runs_in_db'])} / {int(r['succeeded'])} / {int(r['executed_exactly_once'])}"
        print(f"| {label} | {f(pg)} | {f(lite)} |")
    else:
        print(f"| {label} | {pg[key]:.1f} | {lite[key]:.1f} |")
PY
