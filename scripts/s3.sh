#!/usr/bin/env bash
# A throwaway S3-compatible server (Garage) on loopback, for the S3 tests and benchmarks.
#
# Sourced (functions):
#   source scripts/s3.sh
#   s3_install                 # cargo install garage (pinned) into a cache outside the
#                              # repository when the binary is missing; no-op when present
#   s3_start                   # own temp dir, free loopback ports for S3, RPC and admin, a
#                              # random rpc_secret, a single-node layout, a key and the bucket
#                              # verta-test allowed for it. Exports VERTA_TEST_S3_URL=s3://verta-test,
#                              # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION=garage,
#                              # AWS_ENDPOINT_URL=http://127.0.0.1:<port> and AWS_ALLOW_HTTP=true,
#                              # and adds s3_stop to the EXIT trap (keeping what is there)
#   s3_stop                    # stop + delete now (idempotent)
#
# As a command:
#   scripts/s3.sh run -- CMD ARGS...   # install if needed, start, run CMD with the variables set, stop
#   scripts/s3.sh install
#
# Garage is AGPL: a test-only tool run as a separate process, never linked into Verta. The first
# s3_install builds it from crates.io (about 20 minutes on two busy cores, `nice`d, in a
# temporary target directory deleted afterwards); later runs start it in well under a second.
# The binary lives in ${VERTA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/verta-tools}/garage-<version>/bin.

# Exact version: the server's behaviour must not change with the day the cache is built.
VERTA_GARAGE_VERSION="2.5.0"
# The bucket and region the tests see.
VERTA_S3_BUCKET="verta-test"
VERTA_S3_REGION="garage"

_verta_s3_log() { printf '[s3] %s\n' "$*" >&2; }

_verta_s3_root() {
    echo "${VERTA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/verta-tools}/garage-$VERTA_GARAGE_VERSION"
}

_verta_s3_garage() { echo "$(_verta_s3_root)/bin/garage"; }

s3_install() {
    local garage root build status t0
    garage=$(_verta_s3_garage)
    [ -x "$garage" ] && return 0
    command -v cargo >/dev/null 2>&1 || { _verta_s3_log "cargo not found: it builds Garage"; return 1; }
    root=$(_verta_s3_root)
    _verta_s3_log "Garage $VERTA_GARAGE_VERSION not found: building it once into $root (cargo install, several minutes)"
    # Its own target directory, so that the build never touches (or is cleaned with) the
    # workspace's, and is deleted once the binary is installed; run from there too, so that
    # the workspace's .cargo/config.toml (its SQLite flags) does not apply to Garage.
    build=$(mktemp -d "${TMPDIR:-/tmp}/verta-garage-build.XXXXXX")
    t0=$(date +%s)
    status=0
    (cd "$build" && CARGO_TARGET_DIR="$build/target" nice -n 10 cargo install garage \
        --version "$VERTA_GARAGE_VERSION" --locked --root "$root" >&2) || status=$?
    rm -rf "$build"
    if [ "$status" -ne 0 ] || [ ! -x "$garage" ]; then
        _verta_s3_log "building Garage failed (cargo install exited with $status)"
        return 1
    fi
    _verta_s3_log "built $garage in $(( $(date +%s) - t0 ))s"
}

# _verta_s3_free_port [TAKEN...]: a loopback port nobody listens on, not among TAKEN.
_verta_s3_free_port() {
    local port tries=0
    while [ $tries -lt 200 ]; do
        port=$(( 33000 + RANDOM % 20000 ))
        tries=$(( tries + 1 ))
        case " $* " in *" $port "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"; return 0
        fi
    done
    return 1
}

# _verta_s3_hex BYTES: that many random bytes, as lowercase hex.
_verta_s3_hex() { od -An -vtx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# _verta_s3_http_status PORT PATH: the status code of GET PATH on 127.0.0.1:PORT (no curl needed).
_verta_s3_http_status() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
        IFS= read -r -t 5 status_line <&3 || exit 1
        # Word splitting wanted: "HTTP/1.1 200 OK" -> $2 is the code.
        # shellcheck disable=SC2086
        set -- $status_line
        echo "${2:-}"
    ) 2>/dev/null
}

s3_stop() {
    local dir="${VERTA_S3_DIR:-}"
    [ -n "$dir" ] || return 0
    if [ -f "$dir/garage.pid" ]; then
        local pid
        pid=$(cat "$dir/garage.pid" 2>/dev/null || true)
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
    _verta_s3_log "stopped and deleted $dir"
    VERTA_S3_DIR=""
}

s3_start() {
    local garage
    garage=$(_verta_s3_garage)
    [ -x "$garage" ] || { _verta_s3_log "no Garage at $garage: run s3_install"; return 1; }

    VERTA_S3_DIR=$(mktemp -d "${TMPDIR:-/tmp}/verta-s3.XXXXXX")
    export VERTA_S3_DIR
    # Chain onto an EXIT trap already set (scripts/mariadb.sh's, say) instead of replacing it.
    local previous
    eval "set -- $(trap -p EXIT)"
    previous="${3:-}"
    case "$previous" in
        *s3_stop*) ;;
        "") trap 's3_stop' EXIT ;;
        *) trap "s3_stop; $previous" EXIT ;;
    esac
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local dir="$VERTA_S3_DIR" s3_port rpc_port admin_port t0
    t0=$(date +%s.%N)
    s3_port=$(_verta_s3_free_port) || { _verta_s3_log "no free port"; return 1; }
    rpc_port=$(_verta_s3_free_port "$s3_port") || { _verta_s3_log "no free port"; return 1; }
    admin_port=$(_verta_s3_free_port "$s3_port" "$rpc_port") || { _verta_s3_log "no free port"; return 1; }

    # Garage's key ids are GK + 24 hex digits and its secrets 64; fresh ones every start.
    local key_id secret
    key_id="GK$(_verta_s3_hex 12)"
    secret=$(_verta_s3_hex 32)

    # No fsync: the data dies with the test run anyway.
    cat >"$dir/garage.toml" <<EOF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "lmdb"
metadata_fsync = false
data_fsync = false
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(_verta_s3_hex 32)"

[s3_api]
s3_region = "$VERTA_S3_REGION"
api_bind_addr = "127.0.0.1:$s3_port"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
admin_token = "$(_verta_s3_hex 32)"
EOF
    chmod 600 "$dir/garage.toml"

    # --single-node assigns this node the whole layout and applies it; --default-bucket creates
    # the key from GARAGE_DEFAULT_ACCESS_KEY / _SECRET_KEY and the bucket, and allows the key
    # read, write and owner on it. Garage does all of it before it opens the S3 port.
    GARAGE_DEFAULT_ACCESS_KEY="$key_id" GARAGE_DEFAULT_SECRET_KEY="$secret" \
        GARAGE_DEFAULT_BUCKET="$VERTA_S3_BUCKET" RUST_LOG="${VERTA_S3_LOG:-garage=info}" NO_COLOR=1 \
        "$garage" -c "$dir/garage.toml" server --single-node --default-bucket \
        >"$dir/garage.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/garage.pid"

    # Ready when the admin API reports a healthy cluster and the S3 API answers HTTP (an
    # unsigned request gets an S3 error: the server is up).
    local i
    for i in $(seq 1 600); do
        if ! kill -0 "$pid" 2>/dev/null; then
            _verta_s3_log "Garage exited during start-up; its log ($dir/garage.log):"
            tail -n 30 "$dir/garage.log" >&2 || true
            return 1
        fi
        if [ "$(_verta_s3_http_status "$admin_port" /health)" = "200" ] &&
            [ -n "$(_verta_s3_http_status "$s3_port" "/$VERTA_S3_BUCKET")" ]; then
            break
        fi
        if [ "$i" -eq 600 ]; then
            _verta_s3_log "Garage did not become ready within 60s; its log ($dir/garage.log):"
            tail -n 30 "$dir/garage.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done

    export VERTA_TEST_S3_URL="s3://$VERTA_S3_BUCKET"
    export AWS_ACCESS_KEY_ID="$key_id"
    export AWS_SECRET_ACCESS_KEY="$secret"
    export AWS_REGION="$VERTA_S3_REGION"
    export AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port"
    export AWS_ALLOW_HTTP=true
    _verta_s3_log "Garage $VERTA_GARAGE_VERSION on $AWS_ENDPOINT_URL, bucket $VERTA_S3_BUCKET, ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s (dir $dir)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        install) s3_install ;;
        run)
            shift
            [ "${1:-}" = "--" ] && shift
            s3_install
            s3_start
            "$@"
            ;;
        *)
            echo "usage: $0 install | run -- CMD [ARGS...]   (or: source $0; s3_start)" >&2
            exit 2
            ;;
    esac
fi
