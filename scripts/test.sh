#!/usr/bin/env bash
# The test command: every test on SQLite, then every test on a throwaway MariaDB
# (utf8mb4_bin), then the tests named `s3` against a throwaway S3-compatible server (s3s-fs),
# then the entity drift check and the API fuzzing. Works on a fresh Debian machine: installs
# chromium, chromedriver and axe-core for the browser tests when missing
# (scripts/browser-tools.sh), MariaDB (apt-get) and s3s-fs (scripts/s3.sh: built once with
# cargo install into a cache outside the repository), starts each on loopback with its own
# files and ports, and stops and deletes them at exit, also on failure. A leg that runs past
# VERTA_TEST_LEG_TIMEOUT seconds (default 1200) is stopped and counts as failed.
#
#   bash scripts/test.sh                 # all legs
#   bash scripts/test.sh -- -p service   # extra args go to `cargo test` (every leg)
#
# Every leg runs, and every test binary of a leg runs even when an earlier one failed
# (`--no-fail-fast`), so one report shows every failure. The summary counts the passed and
# failed tests of each leg; the exit code is non-zero when any leg failed.
set -uo pipefail
cd "$(dirname "$0")/.."

CARGO_ARGS=()
if [ "${1:-}" = "--" ]; then shift; CARGO_ARGS=("$@"); fi
[ ${#CARGO_ARGS[@]} -eq 0 ] && CARGO_ARGS=(--workspace)

START=$(date +%s)
FAILED=()
SUMMARY=()
TOTAL_PASSED=0
TOTAL_FAILED=0
LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT

banner() {
    printf '\n==================================================================\n'
    printf '== %s\n' "$*"
    printf '==================================================================\n'
}

# count_tests LOG: "PASSED FAILED" summed over the `test result:` lines cargo prints per binary.
count_tests() {
    awk '/^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i) ~ /^passed;?$/) p += $(i - 1)
                if ($(i) ~ /^failed;?$/) f += $(i - 1)
            }
         }
         END { printf "%d %d\n", p, f }' "$1"
}

# A leg that runs longer than this (seconds) is stopped and fails, so that a hung test costs
# minutes and a report, not the whole CI budget; the slowest leg takes about 5 minutes.
LEG_TIMEOUT="${VERTA_TEST_LEG_TIMEOUT:-1200}"

leg() {
    # leg NAME CMD...: run, time and record one leg; a cargo test leg also counts its tests.
    local name="$1"; shift
    local t0 log status passed failed line verdict
    t0=$(date +%s)
    log="$LOGS/leg-${#SUMMARY[@]}.log"
    banner "$name"
    # timeout signals the command's whole process group (cargo and the test binaries); a
    # shell function (a quick check) runs as it is.
    if declare -F "$1" >/dev/null; then
        "$@" 2>&1 | tee "$log"
    else
        timeout --kill-after=30 "$LEG_TIMEOUT" "$@" 2>&1 | tee "$log"
    fi
    status=${PIPESTATUS[0]}
    read -r passed failed < <(count_tests "$log")
    verdict=$( [ "$status" -eq 0 ] && echo PASSED || echo FAILED )
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        verdict="FAILED: stopped after ${LEG_TIMEOUT}s (VERTA_TEST_LEG_TIMEOUT)"
        echo "== $name did not finish within ${LEG_TIMEOUT}s: stopped" >&2
    fi
    line="$name: $verdict ($(( $(date +%s) - t0 ))s"
    if [ $(( passed + failed )) -gt 0 ]; then
        line="$line; $passed passed, $failed failed"
        TOTAL_PASSED=$(( TOTAL_PASSED + passed ))
        TOTAL_FAILED=$(( TOTAL_FAILED + failed ))
    fi
    line="$line)"
    printf '== %s\n' "$line"
    SUMMARY+=("$line")
    [ "$status" -eq 0 ] || FAILED+=("$name")
}

# Nothing tracked may reach outside the repository: a fresh clone anywhere must pass.
self_contained() {
    local hits
    hits=$(git grep -n -I -e '\.\./shared' -e '/work/shared' -- ':!*.md' ':!scripts/test.sh' 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "files that read outside the repository:"
        echo "$hits"
        return 1
    fi
    echo "no tracked file refers to a path outside the repository"
}

# The real-browser tests' chromium, chromedriver and axe-core (exports VERTA_CHROMIUM,
# VERTA_CHROMEDRIVER, VERTA_AXE_JS).
# shellcheck source=scripts/browser-tools.sh
source scripts/browser-tools.sh
banner "Setting up the browser test tools"
browser_tools_install || {
    echo "cannot install the browser test tools (chromium, chromedriver, axe-core): see the messages above" >&2
    exit 1
}

# shellcheck source=scripts/mariadb.sh
source scripts/mariadb.sh
banner "Setting up a throwaway MariaDB"
mariadb_install || { echo "cannot install MariaDB" >&2; exit 1; }
mariadb_start || { echo "cannot start MariaDB" >&2; exit 1; }
# mariadb_start's EXIT trap stops the server; keep it and remove the logs too.
trap 'mariadb_stop; rm -rf "$LOGS"' EXIT

# The S3 leg's server is started by its leg (scripts/s3.sh run), so that the AWS variables
# reach only that leg; the build, the only slow part, happens here, once per machine.
# shellcheck source=scripts/s3.sh
source scripts/s3.sh
banner "Setting up s3s-fs (the S3 leg's server)"
s3_install || { echo "cannot install s3s-fs: see the messages above" >&2; exit 1; }

leg "Self-containment (no path outside the repository)" self_contained

# Build the tests once, before the legs, so that the legs' output is the tests'.
leg "Build (cargo test --no-run)" cargo test "${CARGO_ARGS[@]}" --no-run

leg "SQLite leg (VERTA_TEST_BACKEND=sqlite)" \
    env VERTA_TEST_BACKEND=sqlite cargo test --no-fail-fast "${CARGO_ARGS[@]}"

leg "MariaDB leg (VERTA_TEST_BACKEND=mariadb, $VERTA_TEST_MARIADB_URL)" \
    env VERTA_TEST_BACKEND=mariadb VERTA_TEST_MARIADB_URL="$VERTA_TEST_MARIADB_URL" \
    cargo test --no-fail-fast "${CARGO_ARGS[@]}"

# Only the tests whose name contains `s3` (the object store's: they read VERTA_TEST_S3_URL and
# pass without running when it is unset, as in the legs above), and no doctests: `--tests`
# goes before the extra arguments' `--`, if there is one, and the filter after it.
S3_ARGS=()
S3_SEPARATED=0
for arg in "${CARGO_ARGS[@]}"; do
    if [ "$arg" = "--" ] && [ "$S3_SEPARATED" -eq 0 ]; then
        S3_ARGS+=(--tests); S3_SEPARATED=1
    fi
    S3_ARGS+=("$arg")
done
[ "$S3_SEPARATED" -eq 1 ] || S3_ARGS+=(--tests --)
S3_ARGS+=(s3)
leg "S3 leg (tests named s3, VERTA_TEST_S3_URL on a throwaway s3s-fs)" \
    env VERTA_TEST_BACKEND=sqlite bash scripts/s3.sh run -- cargo test --no-fail-fast "${S3_ARGS[@]}"

leg "Entity drift check (sea-orm-cli on the migrated MariaDB vs entity/src)" \
    bash scripts/regenerate-entities.sh --check

# Fuzz the running `verta serve` (SQLite) from its own OpenAPI document: no 5xx, every
# response matching its documented status, content type and schema. Whole-workspace runs only.
if [ "${CARGO_ARGS[*]}" = "--workspace" ]; then
    leg "API fuzzing (schemathesis against verta serve from /api/openapi.json)" \
        bash scripts/schemathesis.sh
fi

banner "Summary ($(( $(date +%s) - START ))s)"
printf '%s\n' "${SUMMARY[@]}"
echo
if [ ${#FAILED[@]} -eq 0 ]; then
    echo "ALL PASSED"
else
    printf 'FAILED: %s\n' "${FAILED[@]}"
fi
echo "tests: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ ${#FAILED[@]} -eq 0 ]
