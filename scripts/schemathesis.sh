#!/usr/bin/env bash
# Fuzz the running API from its own OpenAPI document with schemathesis (PyPI).
#
# Starts `verta serve --no-worker` on a free port with a throwaway SQLite database and a
# known admin key, then runs schemathesis against /api/openapi.json: zero 5xx responses and
# zero responses that break their documented schema (status codes, content types, bodies).
#
#   scripts/schemathesis.sh            # builds the debug binary if needed
#   VERTA_BIN=target/release/verta scripts/schemathesis.sh
#   SCHEMATHESIS_MAX_EXAMPLES=50 scripts/schemathesis.sh
#
# schemathesis is pinned and installed into a venv under target/ (no system changes).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
VENV="$PWD/target/schemathesis-venv"
BIN="${VERTA_BIN:-${CARGO_TARGET_DIR:-target}/debug/verta}"

if [ ! -x "$VENV/bin/schemathesis" ] \
  || [ "$("$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    # Debian/Ubuntu ship venv support separately.
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
if [ -z "${VERTA_BIN:-}" ]; then
  cargo build --quiet -p api --bin verta
fi

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
key="schemathesis-$(date +%s)-$$"
DATABASE_URL="sqlite://$work/verta.db?mode=rwc" HOST=127.0.0.1 PORT="$port" ADMIN_API_KEY="$key" \
  EXPORT_DIR="$work/export" SYNC_INTERVAL_SECS=0 RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" serve --no-worker >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

healthy() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$port/health" >/dev/null 2>&1
}
for _ in $(seq 1 100); do
  if healthy; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
  sleep 0.1
done

echo "== schemathesis against http://127.0.0.1:$port (max $MAX_EXAMPLES examples per operation)" >&2
status=0
# Run from the temporary directory: schemathesis keeps a cache (`.schemathesis/`) in its
# working directory, which goes away with it.
cd "$work"
"$VENV/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" \
  --header "X-API-KEY: $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --phases examples,coverage,fuzzing \
  --request-timeout 10 \
  --seed 1 \
  --no-color "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "== server log (last 50 lines)" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
