#!/usr/bin/env bash
# Indexing at scale (BENCHMARKS.md): endpoints declaring N jobs, from POST-equivalent CreateEndpoint to
# every registration done, on PostgreSQL and SQLite, next to the plain-batched-SQL floor.
# Usage: scripts/bench-index.sh [SIZES]   (default 10,100,1000,5000)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-10,100,1000,5000}
source scripts/lib/postgres.sh
swift build -c release --product kongflow-index-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/kongflow-index-bench
for n in ${SIZES//,/ }; do "${PG_AS[@]}" psql -h "$PG_DIR" -U postgres -q -c "CREATE DATABASE index_bench_$n" >/dev/null; done
SQLITE_DIR=$(mktemp -d)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m)"
echo "PostgreSQL:"
"$BENCH" --database-url "postgres://postgres@localhost:5432/index_bench_{n}?host=$PG_DIR" --sizes "$SIZES" 2>/dev/null
echo "SQLite:"
"$BENCH" --database-url "sqlite:$SQLITE_DIR/index_bench_{n}.sqlite" --sizes "$SIZES" 2>/dev/null
rm -rf "$SQLITE_DIR"
