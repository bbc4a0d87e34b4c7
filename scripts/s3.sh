#!/usr/bin/env bash
# A throwaway S3-compatible server (s3s-fs) on loopback, for the S3 tests and benchmarks.
#
# Sourced (functions):
#   source scripts/s3.sh
#   s3_install                 # cargo install s3s-fs (pinned) into a cache outside the
#                              # repository when the binary is missing; no-op when present
#   s3_start                   # own temp dir, a loopback port, a random key pair and the
#                              # bucket verta-test. Exports VERTA_TEST_S3_URL=s3://verta-test,
#                              # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION=us-east-1,
#                              # AWS_ENDPOINT_URL=http://127.0.0.1:<port> and AWS_ALLOW_HTTP=true,
#                              # and adds s3_stop to the EXIT trap (keeping what is there)
#   s3_stop                    # stop + delete now (idempotent)
#   s3_log_tail [N]            # the server's last N (default 40) log lines, to stderr
#
# As a command:
#   scripts/s3.sh run -- CMD ARGS...   # install if needed, start, run CMD with the variables set,
#                                      # print the server's log tail if CMD failed, stop
#   scripts/s3.sh install
#
# The server is s3s-fs, the file-system S3 service of the s3s project (Apache-2.0): the S3 REST
# API over HTTP with SigV4 authentication, multipart uploads, ranged reads and listings, each
# bucket a directory. A separate process the tests talk to over HTTP, never linked into Verta.
# The first s3_install builds it from crates.io (under two minutes on two cores, in a temporary
# target directory deleted afterwards); later runs start it in a fraction of a second.
# The binary lives in ${VERTA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/verta-tools}/s3s-fs-<version>/bin.

# Exact version: the server's behaviour must not change with the day the cache is built
# (0.14.1 is the newest release that builds with the project's Rust 1.95).
VERTA_S3FS_VERSION="0.14.1"
# The bucket and region the tests see (the server accepts any region in a signature).
VERTA_S3_BUCKET="verta-test"
VERTA_S3_REGION="us-east-1"

_verta_s3_log() { printf '[s3] %s\n' "$*" >&2; }

_verta_s3_root() {
    echo "${VERTA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/verta-tools}/s3s-fs-$VERTA_S3FS_VERSION"
}

_verta_s3_server() { echo "$(_verta_s3_root)/bin/s3s-fs"; }

s3_install() {
    local server root build status t0
    server=$(_verta_s3_server)
    [ -x "$server" ] && return 0
    command -v cargo >/dev/null 2>&1 || { _verta_s3_log "cargo not found: it builds s3s-fs"; return 1; }
    root=$(_verta_s3_root)
    _verta_s3_log "s3s-fs $VERTA_S3FS_VERSION not found: building it once into $root (cargo install, a minute or two)"
    # Its own target directory, so that the build never touches (or is cleaned with) the
    # workspace's, and is deleted once the binary is installed; run from there too, so that
    # the workspace's .cargo/config.toml (its SQLite flags) does not apply to it.
    build=$(mktemp -d "${TMPDIR:-/tmp}/verta-s3s-build.XXXXXX")
    t0=$(date +%s)
    status=0
    (cd "$build" && CARGO_TARGET_DIR="$build/target" nice -n 10 cargo install s3s-fs \
        --version "$VERTA_S3FS_VERSION" --features binary --locked --root "$root" >&2) || status=$?
    rm -rf "$build"
    if [ "$status" -ne 0 ] || [ ! -x "$server" ]; then
        _verta_s3_log "building s3s-fs failed (cargo install exited with $status)"
        return 1
    fi
    _verta_s3_log "built $server in $(( $(date +%s) - t0 ))s"
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

s3_log_tail() {
    local dir="${VERTA_S3_DIR:-}" lines="${1:-40}"
    [ -n "$dir" ] && [ -f "$dir/server.log" ] || return 0
    _verta_s3_log "the server's last $lines log lines ($dir/server.log):"
    tail -n "$lines" "$dir/server.log" >&2 || true
}

s3_stop() {
    local dir="${VERTA_S3_DIR:-}"
    [ -n "$dir" ] || return 0
    if [ -f "$dir/server.pid" ]; then
        local pid
        pid=$(cat "$dir/server.pid" 2>/dev/null || true)
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
    local server
    server=$(_verta_s3_server)
    [ -x "$server" ] || { _verta_s3_log "no s3s-fs at $server: run s3_install"; return 1; }

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

    local dir="$VERTA_S3_DIR" port="" t0
    t0=$(date +%s.%N)

    # A fresh key pair every start; a bucket is a directory under the data root.
    local key_id secret
    key_id="VERTA$(_verta_s3_hex 8 | tr 'a-f' 'A-F')"
    secret=$(_verta_s3_hex 20)
    mkdir -p "$dir/data/$VERTA_S3_BUCKET"

    # Port 0: the kernel picks a free port (a port found free beforehand can be taken by an
    # outgoing connection before the server binds it) and the server logs the one it got.
    RUST_LOG="${VERTA_S3_LOG:-s3s_fs=info,s3s=warn}" NO_COLOR=1 \
        "$server" --host 127.0.0.1 --port 0 --access-key "$key_id" --secret-key "$secret" \
        "$dir/data" >"$dir/server.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/server.pid"

    # Ready when the port it logged answers HTTP (an unsigned request gets an S3 error: the
    # server is up).
    local i
    for i in $(seq 1 600); do
        if ! kill -0 "$pid" 2>/dev/null; then
            _verta_s3_log "s3s-fs exited during start-up"
            s3_log_tail 30
            return 1
        fi
        [ -n "$port" ] ||
            port=$(sed -n 's|.*server is running at http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$dir/server.log" | head -n 1)
        if [ -n "$port" ] && [ -n "$(_verta_s3_http_status "$port" "/$VERTA_S3_BUCKET")" ]; then
            break
        fi
        if [ "$i" -eq 600 ]; then
            _verta_s3_log "s3s-fs did not become ready within 60s"
            s3_log_tail 30
            return 1
        fi
        sleep 0.1
    done

    export VERTA_TEST_S3_URL="s3://$VERTA_S3_BUCKET"
    export AWS_ACCESS_KEY_ID="$key_id"
    export AWS_SECRET_ACCESS_KEY="$secret"
    export AWS_REGION="$VERTA_S3_REGION"
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    export AWS_ALLOW_HTTP=true
    _verta_s3_log "s3s-fs $VERTA_S3FS_VERSION on $AWS_ENDPOINT_URL, bucket $VERTA_S3_BUCKET, ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s (dir $dir)"
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
            status=0
            "$@" || status=$?
            [ "$status" -eq 0 ] || s3_log_tail
            exit "$status"
            ;;
        *)
            echo "usage: $0 install | run -- CMD [ARGS...]   (or: source $0; s3_start)" >&2
            exit 2
            ;;
    esac
fi
