#!/usr/bin/env bash
# Verta benchmarks (docs/design.md, "Benchmarks"; method and figures in docs/benchmarks.md).
#
#   scripts/bench.sh [NAME...] [-- BENCH-ARGS...]
#
# Builds `verta-bench` in release mode and runs each named benchmark (all when none are
# named) on SQLite and on a throwaway MariaDB started by scripts/mariadb.sh (deleted at the
# end). Arguments after `--` are passed to every benchmark (e.g. `-- --messages 10000`).
# Each measurement prints one `BENCH <name> backend=<sqlite|mariadb> key=value ...` line on
# stdout; progress goes to stderr. Exit status 1 when any benchmark failed.
#
# Environment: BENCH_BACKENDS="sqlite mariadb" (default both) selects the backends;
# VERTA_MARIADB_BUFFER_POOL / VERTA_MARIADB_LOG_FILE (default 2G / 1G here) size the server.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(upsert sync export read-api)
names=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

echo "bench.sh: building verta-bench (release)" >&2
cargo build --release -p bench >&2
bin="${CARGO_TARGET_DIR:-target}/release/verta-bench"

need_mariadb=0
for b in "${backends[@]}"; do [ "$b" = mariadb ] && need_mariadb=1; done
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

failed=()
for name in "${names[@]}"; do
    if ! "$bin" "$name" --help >/dev/null 2>&1; then
        echo "bench.sh: '$name' is not built into verta-bench yet: skipped" >&2
        continue
    fi
    for backend in "${backends[@]}"; do
        echo "bench.sh: $name on $backend" >&2
        if ! "$bin" "$name" --backend "$backend" ${extra[@]+"${extra[@]}"}; then
            failed+=("$name/$backend")
        fi
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "bench.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
