#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis (RELIABILITY.md): a server on a
# temp SQLite file, authenticated with a real key. Passes when no request gets a 5xx or crashes the
# server and every response conforms to the document (status codes, content types, headers, bodies).
# Usage: scripts/reliability/fuzz-api.sh [SECONDS]   (default 120; needs PyPI for schemathesis)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_BUDGET=${1:-120}
if [ ! -x .venv-fuzz/bin/schemathesis ]; then
  python3 -m venv .venv-fuzz
  .venv-fuzz/bin/pip install -q 'schemathesis==4.*'
fi
if [ -z "${KONGFLOW:-}" ]; then
  swift build --product kongflow >/dev/null
  KONGFLOW="$(swift build --show-bin-path)/kongflow"
fi
WORK=$(mktemp -d)
"$KONGFLOW" serve --port 0 --database-url "sqlite:$WORK/fuzz.sqlite" >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 300); do grep -q 'address=' "$WORK/serve.log" && grep -q 'tr_dev_' "$WORK/serve.log" && break; sleep 0.1; done
PORT=$(grep -oE 'address=http://127\.0\.0\.1:[0-9]+' "$WORK/serve.log" | head -1 | grep -oE '[0-9]+$')
KEY=$(grep -oE 'tr_dev_[A-Za-z0-9]{20}' "$WORK/serve.log" | head -1)

# positive_data_acceptance is excluded on purpose: a schema-valid POST /api/v1/endpoints whose URL does
# not answer a PING is a 400 "Could not connect to endpoint …", as in trigger.dev.
status=0
.venv-fuzz/bin/schemathesis run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --header "Authorization: Bearer $KEY" --checks all --exclude-checks positive_data_acceptance \
  --workers 2 --max-time "$SECONDS_BUDGET" --seed 20261125 || status=$?
if ! kill -0 "$SERVER" 2>/dev/null; then echo "FAIL: the server died"; tail -30 "$WORK/serve.log"; exit 1; fi
errors=$(grep -c ' error ' "$WORK/serve.log" || true)
echo "server alive after the run; error-level log lines: $errors"
exit "$status"
