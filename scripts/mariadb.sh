#!/usr/bin/env bash
# A throwaway MariaDB server on loopback, for tests and benchmarks.
#
# Sourced (functions):
#   source scripts/mariadb.sh
#   mariadb_install            # apt-get install mariadb-server when the binaries are missing
#   mariadb_start              # own datadir, socket and free port; utf8mb4 / utf8mb4_bin;
#                              # root with an empty password over TCP. Exports
#                              # VERTA_TEST_MARIADB_URL=mysql://root@127.0.0.1:<port> and installs
#                              # an EXIT trap that stops the server and deletes its files
#   mariadb_stop               # stop + delete now (idempotent)
#
# As a command:
#   scripts/mariadb.sh run -- CMD ARGS...   # start, run CMD with VERTA_TEST_MARIADB_URL set, stop
#   scripts/mariadb.sh install
#
# Environment: VERTA_MARIADB_BUFFER_POOL (default 256M) and VERTA_MARIADB_LOG_FILE (default 96M)
# size InnoDB's buffer pool and redo log (scripts/bench.sh raises both).

_verta_mariadb_log() { printf '[mariadb] %s\n' "$*" >&2; }

_verta_mariadb_bin() {
    # Print the path of the first existing binary among the names given.
    local name
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
        if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return 0; fi
    done
    return 1
}

mariadb_install() {
    if _verta_mariadb_bin mariadbd mysqld >/dev/null && _verta_mariadb_bin mariadb-install-db mysql_install_db >/dev/null; then
        return 0
    fi
    _verta_mariadb_log "MariaDB server not found: installing mariadb-server from Debian"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server mariadb-client
}

_verta_mariadb_free_port() {
    local port tries=0
    while [ $tries -lt 200 ]; do
        port=$(( 33000 + RANDOM % 20000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"; return 0
        fi
        tries=$(( tries + 1 ))
    done
    return 1
}

mariadb_stop() {
    local dir="${VERTA_MARIADB_DIR:-}"
    [ -n "$dir" ] || return 0
    if [ -f "$dir/mariadb.pid" ]; then
        local pid
        pid=$(cat "$dir/mariadb.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            local i
            for i in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
    _verta_mariadb_log "stopped and deleted $dir"
    VERTA_MARIADB_DIR=""
}

mariadb_start() {
    local server install_db client
    server=$(_verta_mariadb_bin mariadbd mysqld) || { _verta_mariadb_log "no mariadbd: run mariadb_install"; return 1; }
    install_db=$(_verta_mariadb_bin mariadb-install-db mysql_install_db) || { _verta_mariadb_log "no mariadb-install-db"; return 1; }
    client=$(_verta_mariadb_bin mariadb mysql) || { _verta_mariadb_log "no mariadb client"; return 1; }

    VERTA_MARIADB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/verta-mariadb.XXXXXX")
    export VERTA_MARIADB_DIR
    trap 'mariadb_stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local dir="$VERTA_MARIADB_DIR" user port
    user=$(id -un)
    port=$(_verta_mariadb_free_port) || { _verta_mariadb_log "no free port"; return 1; }

    "$install_db" --no-defaults --datadir="$dir/data" --user="$user" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 || {
        _verta_mariadb_log "mariadb-install-db failed:"; cat "$dir/install.log" >&2; return 1; }

    "$server" --no-defaults --datadir="$dir/data" --socket="$dir/mariadb.sock" \
        --pid-file="$dir/mariadb.pid" --port="$port" --bind-address=127.0.0.1 --user="$user" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_bin --explicit-defaults-for-timestamp=ON \
        --skip-log-bin --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 \
        --innodb-buffer-pool-size="${VERTA_MARIADB_BUFFER_POOL:-256M}" \
        --innodb-log-file-size="${VERTA_MARIADB_LOG_FILE:-96M}" --max-connections=500 \
        --log-error="$dir/error.log" >/dev/null 2>&1 &

    local i
    for i in $(seq 1 300); do
        if "$client" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
            break
        fi
        if [ "$i" -eq 300 ]; then
            _verta_mariadb_log "server did not come up within 60s:"; tail -n 30 "$dir/error.log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    export VERTA_TEST_MARIADB_URL="mysql://root@127.0.0.1:$port"
    _verta_mariadb_log "MariaDB $("$client" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot -N -e 'SELECT VERSION()') on 127.0.0.1:$port (datadir $dir)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        install) mariadb_install ;;
        run)
            shift
            [ "${1:-}" = "--" ] && shift
            mariadb_install
            mariadb_start
            "$@"
            ;;
        *)
            echo "usage: $0 install | run -- CMD [ARGS...]   (or: source $0; mariadb_start)" >&2
            exit 2
            ;;
    esac
fi
