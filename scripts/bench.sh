#!/usr/bin/env bash
# Verta benchmarks (docs/design.md, "Benchmarks"; method and figures in docs/benchmarks.md).
#
#   scripts/bench.sh [NAME...] [-- BENCH-ARGS...]
#
# Builds `verta-bench` in release mode and runs each named benchmark (all when none are
# named) on SQLite and on a throwaway MariaDB started by scripts/mariadb.sh (deleted at the
# end). Arguments after `--` are passed to every benchmark (e.g. `-- --messages 10000`).
# Each measurement prints one `BENCH <name> backend=<sqlite|mariadb> key=value ...` line on
# stdout (`files`: backend=<file|s3>, the store); progress goes to stderr. Exit status 1 when any benchmark failed.
#
# `site` stands for the website's three: site-live and site-build on each backend, and
# site-lighthouse once, on SQLite (Chromium and Lighthouse installed by
# scripts/browser-tools.sh when missing). site-build, search and files run the release
# `verta` binary, so the `api` package is built too.
#
# `files` runs on SQLite only (the database holds a row per file; the bytes are what is
# measured), into a local store, and also into S3 when scripts/s3.sh exists: it then installs
# (once, cached) and starts a throwaway S3 server on loopback for the run (BENCH_S3=0 skips it;
# a failed install or start is reported and the S3 line skipped).
#
# Environment: BENCH_BACKENDS="sqlite mariadb" (default both) selects the backends (a
# benchmark whose backends are all deselected is not run); BENCH_S3=0 keeps `files` off S3;
# VERTA_MARIADB_BUFFER_POOL / VERTA_MARIADB_LOG_FILE (default 2G / 1G here) size the server.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(upsert sync export read-api site search files)
# What each name runs, and on which backends ("all" = every selected backend).
expand() {
    case "$1" in
        site) echo "site-live:all site-build:all site-lighthouse:sqlite" ;;
        files) echo "files:sqlite" ;;
        *) echo "$1:all" ;;
    esac
}
names=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) names+=("$1"); shift ;;
    esac
done
[ ${#names[@]} -eq 0 ] && names=("${ALL[@]}")
for n in "${names[@]}"; do
    case " ${ALL[*]} " in
        *" $n "*) ;;
        *) echo "bench.sh: unknown benchmark '$n' (known: ${ALL[*]})" >&2; exit 2 ;;
    esac
done
read -r -a backends <<<"${BENCH_BACKENDS:-sqlite mariadb}"

runs=()
for n in "${names[@]}"; do
    read -r -a parts <<<"$(expand "$n")"
    runs+=("${parts[@]}")
done
packages=(-p bench)
case " ${runs[*]} " in *" site-build:"* | *" search:"* | *" files:"*) packages+=(-p api) ;; esac
echo "bench.sh: building ${packages[*]} (release)" >&2
cargo build --release "${packages[@]}" >&2
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/verta-bench"
case " ${runs[*]} " in
    *" site-lighthouse:"*)
        # shellcheck source=scripts/browser-tools.sh
        source scripts/browser-tools.sh
        browser_tools_install lighthouse
        ;;
esac

# A MariaDB only when some selected run uses it (`files` alone runs on SQLite).
need_mariadb=0
for b in "${backends[@]}"; do
    [ "$b" = mariadb ] || continue
    for run in "${runs[@]}"; do
        case "${run#*:}" in all | mariadb) need_mariadb=1 ;; esac
    done
done
if [ $need_mariadb -eq 1 ]; then
    # shellcheck source=scripts/mariadb.sh
    source scripts/mariadb.sh
    # Sized for archives of a million messages (the tests' server keeps 256M / 96M): with
    # a buffer pool smaller than the archive's indexes every insert waits for page reads.
    export VERTA_MARIADB_BUFFER_POOL="${VERTA_MARIADB_BUFFER_POOL:-2G}"
    export VERTA_MARIADB_LOG_FILE="${VERTA_MARIADB_LOG_FILE:-1G}"
    mariadb_install
    mariadb_start   # exports VERTA_TEST_MARIADB_URL; stopped and deleted on exit
fi

case " ${runs[*]} " in
    *" files:"*)
        if [ "${BENCH_S3:-1}" != 0 ] && [ -f scripts/s3.sh ]; then
            # shellcheck source=/dev/null
            source scripts/s3.sh
            # Exports VERTA_TEST_S3_URL and the AWS_* variables; stopped and deleted on exit.
            if ! { s3_install && s3_start; }; then
                echo "bench.sh: no S3 server: files runs on the local store only" >&2
                unset VERTA_TEST_S3_URL
            fi
        fi
        ;;
esac

failed=()
for run in "${runs[@]}"; do
    name="${run%%:*}"
    only="${run#*:}"
    if ! "$bin" "$name" --help >/dev/null 2>&1; then
        echo "bench.sh: '$name' is not built into verta-bench yet: skipped" >&2
        continue
    fi
    own=()
    case "$name" in site-build | search | files) own=(--verta "$target/release/verta") ;; esac
    for backend in "${backends[@]}"; do
        [ "$only" = all ] || [ "$only" = "$backend" ] || continue
        echo "bench.sh: $name on $backend" >&2
        if ! "$bin" "$name" --backend "$backend" ${own[@]+"${own[@]}"} ${extra[@]+"${extra[@]}"}; then
            failed+=("$name/$backend")
        fi
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "bench.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
