#!/usr/bin/env bash
# The queue benchmark (BENCHMARKS.md): Kongflow's queue on PostgreSQL and SQLite, and pgqueuer 1.6.0
# (from PyPI, in a venv this script creates) on the same throwaway PostgreSQL, in one run.
# Usage: scripts/bench-queue.sh [JOBS] [SINGLES] [SAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-10000}; SINGLES=${2:-2000}; SAMPLES=${3:-300}
source scripts/lib/postgres.sh

swift build -c release --product kongflow-queue-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/kongflow-queue-bench
VENV=${KONGFLOW_BENCH_VENV:-.venv-bench}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "pgqueuer==1.6.0" asyncpg >/dev/null

psql_cmd() { "${PG_AS[@]}" psql -h "$PG_DIR" -U postgres -q -c "$1" >/dev/null; }
psql_cmd "CREATE DATABASE kongflow_bench"
psql_cmd "CREATE DATABASE pgqueuer_bench"
SQLITE_DIR=$(mktemp -d)

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); jobs=$JOBS singles=$SINGLES samples=$SAMPLES"
ours_pg=$("$BENCH" bench --database-url "postgres://postgres@localhost:5432/kongflow_bench?host=$PG_DIR" --jobs "$JOBS" --singles "$SINGLES" --samples "$SAMPLES")
ours_sqlite=$("$BENCH" bench --database-url "sqlite:$SQLITE_DIR/bench.sqlite" --jobs "$JOBS" --singles "$SINGLES" --samples "$SAMPLES")
theirs=$("$VENV/bin/python" Benchmarks/pgqueuer/bench.py "postgresql://postgres@/pgqueuer_bench?host=$PG_DIR" "$JOBS" "$SINGLES" "$SAMPLES")
rm -rf "$SQLITE_DIR"

python3 - "$ours_pg" "$ours_sqlite" "$theirs" <<'PY'
import json, sys
pg, lite, ref = (json.loads(a) for a in sys.argv[1:4])
rows = [("single enqueue (jobs/s)", "single_enqueue_per_s", True), ("batch enqueue (jobs/s)", "batch_enqueue_per_s", True),
        ("throughput, 1 worker (jobs/s)", "throughput_jobs_per_s", True), ("latency p50 (ms)", "latency_p50_ms", False),
        ("latency p99 (ms)", "latency_p99_ms", False)]
print(f"| metric | kongflow pg | kongflow sqlite | pgqueuer 1.6.0 | kongflow pg / pgqueuer | sqlite / pg |")
print("|---|---|---|---|---|---|")
for label, key, higher in rows:
    ratio = pg[key] / ref[key] if higher else ref[key] / pg[key]
    lite_ratio = lite[key] / pg[key] if higher else pg[key] / lite[key]
    print(f"| {label} | {pg[key]:.1f} | {lite[key]:.1f} | {ref[key]:.1f} | {ratio:.2f}x {'(higher is better)' if higher else '(lower latency is better)'} | {lite_ratio:.2f}x |")
print(f"| throughput, one named queue of concurrency 10, 1 worker (jobs/s) | {pg['named_queue_throughput_jobs_per_s']:.1f} | {lite['named_queue_throughput_jobs_per_s']:.1f} | n/a | | |")
print(f"| throughput, 1 worker, beside as many jobs due in an hour (jobs/s) | {pg['throughput_with_later_jobs_per_s']:.1f} | {lite['throughput_with_later_jobs_per_s']:.1f} | n/a | | |")
print(f"| latency p50 beside them (ms) | {pg['latency_with_later_jobs_p50_ms']:.2f} | {lite['latency_with_later_jobs_p50_ms']:.2f} | n/a | | |")
print(f"| single enqueue in a caller's transaction (jobs/s) | {pg['single_enqueue_in_transaction_per_s']:.1f} | {lite['single_enqueue_in_transaction_per_s']:.1f} | n/a | | |")
print(f"| latency p50, enqueued in a caller's transaction (ms) | {pg['latency_in_transaction_p50_ms']:.1f} | {lite['latency_in_transaction_p50_ms']:.1f} | n/a | | |")
PY
