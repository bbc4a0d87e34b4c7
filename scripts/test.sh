#!/usr/bin/env bash
# The test command: every test on SQLite, then every test on a throwaway MariaDB
# (utf8mb4_bin), then the entity drift check. Works on a fresh Debian machine: installs
# MariaDB when missing (apt-get), starts it on loopback with its own datadir, socket and port,
# and stops and deletes it at exit, also on failure.
#
#   bash scripts/test.sh              # all legs
#   bash scripts/test.sh -- -p service   # extra args go to `cargo test` (both legs)
#
# Exits non-zero when any leg fails (the legs all run, so one report shows every failure).
set -uo pipefail
cd "$(dirname "$0")/.."

CARGO_ARGS=()
if [ "${1:-}" = "--" ]; then shift; CARGO_ARGS=("$@"); fi
[ ${#CARGO_ARGS[@]} -eq 0 ] && CARGO_ARGS=(--workspace)

START=$(date +%s)
FAILED=()
banner() {
    printf '\n==================================================================\n'
    printf '== %s\n' "$*"
    printf '==================================================================\n'
}
leg() {
    # leg NAME CMD...: run, time and record one leg.
    local name="$1"; shift
    local t0=$(date +%s)
    banner "$name"
    if "$@"; then
        printf '== %s: PASSED (%ss)\n' "$name" "$(( $(date +%s) - t0 ))"
    else
        printf '== %s: FAILED (%ss)\n' "$name" "$(( $(date +%s) - t0 ))"
        FAILED+=("$name")
    fi
}

# shellcheck source=scripts/mariadb.sh
source scripts/mariadb.sh
banner "Setting up a throwaway MariaDB"
mariadb_install || { echo "cannot install MariaDB" >&2; exit 1; }
mariadb_start || { echo "cannot start MariaDB" >&2; exit 1; }

# Build the tests once, before the legs, so that the legs' output is the tests'.
leg "Build (cargo test --no-run)" cargo test "${CARGO_ARGS[@]}" --no-run

leg "Leg 1/2: SQLite (VERTA_TEST_BACKEND=sqlite)" \
    env VERTA_TEST_BACKEND=sqlite cargo test "${CARGO_ARGS[@]}"

leg "Leg 2/2: MariaDB (VERTA_TEST_BACKEND=mariadb, $VERTA_TEST_MARIADB_URL)" \
    env VERTA_TEST_BACKEND=mariadb VERTA_TEST_MARIADB_URL="$VERTA_TEST_MARIADB_URL" \
    cargo test "${CARGO_ARGS[@]}"

leg "Entity drift check (sea-orm-cli on the migrated MariaDB vs entity/src)" \
    bash scripts/regenerate-entities.sh --check

# ---- BEGIN schemathesis step (owned by H-api) ------------------------------------------
# Fuzz the running `verta serve` (SQLite) from its own OpenAPI document: no 5xx, every
# response matching its documented status, content type and schema. Whole-workspace runs only.
if [ "${CARGO_ARGS[*]}" = "--workspace" ]; then
    leg "API fuzzing (schemathesis against verta serve from /api/openapi.json)" \
        bash scripts/schemathesis.sh
fi
# ---- END schemathesis step -------------------------------------------------------------

banner "Summary ($(( $(date +%s) - START ))s)"
if [ ${#FAILED[@]} -eq 0 ]; then
    echo "ALL PASSED: SQLite leg, MariaDB leg, entity drift check"
    exit 0
fi
printf 'FAILED: %s\n' "${FAILED[@]}"
exit 1
