#!/usr/bin/env bash
# Schedules at scale (BENCHMARKS.md): N schedules due in the same instant, on PostgreSQL and SQLite:
# time from the tick to the last EXECUTE_JOB, statements and CPU per tick, and the idle cost after.
# Usage: scripts/bench-schedules.sh [N]   (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
source scripts/lib/postgres.sh
swift build -c release --product kongflow-run-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/kongflow-run-bench
"${PG_AS[@]}" psql -h "$PG_DIR" -U postgres -q -c "CREATE DATABASE schedule_bench" >/dev/null
SQLITE_DIR=$(mktemp -d)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); schedules=$N"
echo "PostgreSQL: $("$BENCH" --database-url "postgres://postgres@localhost:5432/schedule_bench?host=$PG_DIR" --schedules "$N" 2>/dev/null | tail -1)"
echo "SQLite:     $("$BENCH" --database-url "sqlite:$SQLITE_DIR/schedule_bench.sqlite" --schedules "$N" 2>/dev/null | tail -1)"
rm -rf "$SQLITE_DIR"
