#!/usr/bin/env bash
# Prints line coverage of Sources/ from the last `swift test --enable-code-coverage` run.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$(swift build --show-bin-path)
profdata="$bin_dir/codecov/default.profdata"
binary="$bin_dir/kongflowPackageTests.xctest"
llvm_cov=$(dirname "$(readlink -f "$(command -v swift)")")/llvm-cov; [ -x "$llvm_cov" ] || llvm_cov=llvm-cov
[ -f "$profdata" ] || { echo "no coverage data at $profdata" >&2; exit 1; }
"$llvm_cov" report "$binary" -object "$bin_dir/kongflow" -instr-profile="$profdata" \
  -ignore-filename-regex='(\.build|Tests)/' "$(pwd)/Sources" | tail -n +1 > .build/coverage.txt
grep -E "^(Filename|TOTAL|-)" .build/coverage.txt | head -2 >/dev/null
echo "Line coverage of Sources/ (per file, then total):"
awk 'NR>2 && $1 !~ /^-/ {print}' .build/coverage.txt | awk '{printf "%-70s %s\n", $1, $(NF-3)}' | sed 's|'"$(pwd)"'/||'
