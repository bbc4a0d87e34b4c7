#!/usr/bin/env bash
# Regenerates entity/src from the migrations, or checks that it is up to date.
#
#   scripts/regenerate-entities.sh           # rewrite entity/src
#   scripts/regenerate-entities.sh --check   # fail (exit 1, with a diff) when entity/src differs
#
# Steps: migrate a fresh database on a MariaDB server (the one in VERTA_TEST_MARIADB_URL when
# set, otherwise a throwaway server from scripts/mariadb.sh) with `cargo run -p migration -- up`,
# run sea-orm-cli on it, post-process (scripts/entity-postprocess.pl: MariaDB reports JSON
# columns as LONGTEXT; they become `Json` as sea-orm-cli generates them from MySQL/TiDB;
# tinyint(1), i.e. BOOLEAN, columns become `bool` instead of `i8`), and
# format with rustfmt (edition 2024, like `cargo fmt`).
#
# sea-orm-cli flags (the entity format of this project):
#   generate entity --entity-format dense --with-serde both --lib
#                   --date-time-crate chrono --banner-version off
#                   --ignore-tables seaql_migrations
# (--banner-version off keeps the sea-orm-cli version out of the files.)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SEA_ORM_CLI_VERSION=2.0.4
MODE=write
case "${1:-}" in
    --check) MODE=check ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if ! sea-orm-cli --version 2>/dev/null | grep -q " $SEA_ORM_CLI_VERSION\$"; then
    echo "[entities] installing sea-orm-cli $SEA_ORM_CLI_VERSION (cargo install --locked)" >&2
    cargo install --locked "sea-orm-cli@$SEA_ORM_CLI_VERSION"
fi

source scripts/mariadb.sh
STARTED_SERVER=0
if [ -z "${VERTA_TEST_MARIADB_URL:-}" ]; then
    mariadb_install
    mariadb_start
    STARTED_SERVER=1
fi
ADMIN_URL="${VERTA_TEST_MARIADB_URL%/}"
HOSTPORT="${ADMIN_URL#*@}"
HOST="${HOSTPORT%:*}"
PORT="${HOSTPORT##*:}"
DB="verta_entities_$$_$RANDOM"
MARIADB=(mariadb --no-defaults --protocol=tcp -h"$HOST" -P"$PORT" -uroot)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/verta-entities.XXXXXX")
cleanup() {
    "${MARIADB[@]}" -e "DROP DATABASE IF EXISTS \`$DB\`" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    # Only a server this script started (the caller's server, e.g. scripts/test.sh's, stays).
    if [ "$STARTED_SERVER" = 1 ]; then mariadb_stop; fi
}
trap cleanup EXIT

"${MARIADB[@]}" -e "CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
DATABASE_URL="$ADMIN_URL/$DB" cargo run -q -p migration -- up >"$WORK/migrate.log" 2>&1 || {
    cat "$WORK/migrate.log" >&2; exit 1; }

mkdir -p "$WORK/src"
sea-orm-cli generate entity \
    --database-url "$ADMIN_URL/$DB" \
    --output-dir "$WORK/src" \
    --entity-format dense \
    --with-serde both \
    --lib \
    --date-time-crate chrono \
    --banner-version off \
    --ignore-tables seaql_migrations >"$WORK/generate.log" 2>&1 || {
    cat "$WORK/generate.log" >&2; exit 1; }
VERTA_BOOL_COLUMNS=$("${MARIADB[@]}" -N -e "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) \
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$DB' AND COLUMN_TYPE = 'tinyint(1)'" | tr '\n' ' ') \
    perl scripts/entity-postprocess.pl "$WORK"/src/*.rs
rustfmt --edition 2024 "$WORK"/src/*.rs

if [ "$MODE" = check ]; then
    if diff -ru "$ROOT/entity/src" "$WORK/src"; then
        echo "[entities] entity/src matches the migrations (sea-orm-cli $SEA_ORM_CLI_VERSION)" >&2
    else
        echo "[entities] DRIFT: entity/src differs from what the migrations generate; run scripts/regenerate-entities.sh" >&2
        exit 1
    fi
else
    rm -f "$ROOT"/entity/src/*.rs
    cp "$WORK"/src/*.rs "$ROOT/entity/src/"
    echo "[entities] entity/src regenerated" >&2
fi
