#!/usr/bin/env bash
# Runs the whole test suite against SQLite and a throwaway PostgreSQL 15 that this script starts
# (temp dir, unix socket only, fsync off) and stops again. Extra arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh

export KONGFLOW_TEST_POSTGRES_URL="$PG_URL"
export KONGFLOW_TEST_REQUIRE_POSTGRES=1
echo "PostgreSQL for tests: $KONGFLOW_TEST_POSTGRES_URL"

# Build everything first (executables included: some tests run `kongflow` as a real process).
swift build --build-tests --enable-code-coverage "$@"
# At most 4 tests at once (swift-testing's default is all of them): on a 2-core machine 187 tests at
# once starved the timing-sensitive ones (PINGs past their timeouts, runs past their `eventually`),
# 17-23 failures a run on a slow day; 8 at once left one, a four-process schedule test.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-4}"
# The suite takes 5-8 minutes; a hung test is named by the in-process watchdog (Tests/TestSupport/Watchdog.swift)
# and fails the run after 10 minutes. This outer bound only catches a hang the watchdog cannot report.
timeout -k 30 1800 swift test --skip-build --enable-code-coverage "$@" 2>&1 | tee "$PG_DIR/test.log"
status=${PIPESTATUS[0]}
[ "$status" = "124" ] && echo "the test run did not finish within 30 minutes" >&2

if [ "$status" = "0" ] && [ -z "${KONGFLOW_SKIP_COVERAGE:-}" ]; then
  scripts/coverage.sh || true
fi
# PostgreSQL stopped and restarted under a running server: real processes, its own PostgreSQL.
if [ "$status" = "0" ] && [ -z "${KONGFLOW_SKIP_RELIABILITY:-}" ]; then
  KONGFLOW="$(swift build --show-bin-path)/kongflow" scripts/reliability/postgres-restart.sh || status=$?
fi
exit "$status"
