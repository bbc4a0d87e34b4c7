#!/usr/bin/env bash
# The tools of the real-browser tests: Debian's chromium and its chromedriver, and the npm
# packages the tests inject or run (axe-core; Lighthouse for the site benchmark only).
# Installs what is missing and is fast (no network) when everything is present.
#
# Sourced (functions):
#   source scripts/browser-tools.sh
#   browser_tools_install              # chromium + chromedriver + axe-core; exports
#                                      # VERTA_CHROMIUM, VERTA_CHROMEDRIVER, VERTA_AXE_JS
#   browser_tools_install lighthouse   # the same, plus Lighthouse: exports VERTA_LIGHTHOUSE
#
# As a command (prints the exports, for `eval "$(bash scripts/browser-tools.sh)"`):
#   bash scripts/browser-tools.sh [lighthouse]
#
# The Debian packages come from apt-get (sudo when not root, as scripts/mariadb.sh does); the
# npm packages go to a cache outside the repository that survives between runs,
# ${XDG_CACHE_HOME:-$HOME/.cache}/verta-test-tools (VERTA_TEST_TOOLS_DIR overrides it). The
# tests find the same defaults when the variables are not set (api/tests/api/browser.rs), so
# running this once is enough for a plain `cargo test`.

# Exact versions: a new axe-core release may add rules, and the tests must not change verdict
# with the day they run on.
VERTA_AXE_VERSION="4.14.1"
VERTA_LIGHTHOUSE_VERSION="12.2.3"
# The fonts make screenshots readable and stable (Latin text and emoji).
VERTA_BROWSER_PACKAGES=(chromium chromium-driver fonts-liberation fonts-noto-color-emoji)

_verta_browser_log() { printf '[browser-tools] %s\n' "$*" >&2; }

_verta_browser_missing_packages() {
    local pkg
    for pkg in "${VERTA_BROWSER_PACKAGES[@]}"; do
        if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
            echo "$pkg"
        fi
    done
}

_verta_browser_apt() {
    local missing
    mapfile -t missing < <(_verta_browser_missing_packages)
    [ ${#missing[@]} -eq 0 ] && return 0
    _verta_browser_log "installing ${missing[*]} from Debian"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >&2
}

# _verta_npm_package DIR NAME VERSION: NAME@VERSION installed under DIR/node_modules.
_verta_npm_package() {
    local dir="$1" name="$2" version="$3" installed=""
    local manifest="$dir/node_modules/$name/package.json"
    if [ -f "$manifest" ]; then
        installed=$(node -p 'require(process.argv[1]).version' "$manifest" 2>/dev/null)
    fi
    [ "$installed" = "$version" ] && return 0
    command -v npm >/dev/null 2>&1 || { _verta_browser_log "npm not found (Node 20 and npm are needed)"; return 1; }
    _verta_browser_log "installing $name@$version into $dir"
    npm install --prefix "$dir" --save-exact --no-audit --no-fund --loglevel=error \
        "$name@$version" >&2
}

browser_tools_install() {
    local with_lighthouse=""
    [ "${1:-}" = "lighthouse" ] && with_lighthouse=1

    _verta_browser_apt || { _verta_browser_log "apt-get could not install ${VERTA_BROWSER_PACKAGES[*]}"; return 1; }
    local chromium chromedriver
    chromium=$(command -v chromium) || { _verta_browser_log "chromium is not on PATH after installing"; return 1; }
    chromedriver=$(command -v chromedriver) || { _verta_browser_log "chromedriver is not on PATH after installing"; return 1; }

    local dir="${VERTA_TEST_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/verta-test-tools}"
    mkdir -p "$dir" || { _verta_browser_log "cannot create $dir"; return 1; }
    [ -f "$dir/package.json" ] || printf '{"private": true}\n' >"$dir/package.json"
    # One installer at a time: two test runs may start together.
    (
        flock 9
        _verta_npm_package "$dir" axe-core "$VERTA_AXE_VERSION" || exit 1
        if [ -n "$with_lighthouse" ]; then
            _verta_npm_package "$dir" lighthouse "$VERTA_LIGHTHOUSE_VERSION" || exit 1
        fi
    ) 9>"$dir/.lock" || { _verta_browser_log "npm could not install the test tools into $dir"; return 1; }

    local axe="$dir/node_modules/axe-core/axe.min.js"
    [ -f "$axe" ] || { _verta_browser_log "$axe is missing after installing"; return 1; }
    export VERTA_CHROMIUM="$chromium"
    export VERTA_CHROMEDRIVER="$chromedriver"
    export VERTA_AXE_JS="$axe"
    if [ -n "$with_lighthouse" ]; then
        local lighthouse="$dir/node_modules/.bin/lighthouse"
        [ -x "$lighthouse" ] || { _verta_browser_log "$lighthouse is missing after installing"; return 1; }
        export VERTA_LIGHTHOUSE="$lighthouse"
    fi
    _verta_browser_log "$("$chromium" --version 2>/dev/null), axe-core $VERTA_AXE_VERSION${with_lighthouse:+, lighthouse $VERTA_LIGHTHOUSE_VERSION}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        "" | lighthouse)
            browser_tools_install "${1:-}"
            printf 'export VERTA_CHROMIUM=%q\n' "$VERTA_CHROMIUM"
            printf 'export VERTA_CHROMEDRIVER=%q\n' "$VERTA_CHROMEDRIVER"
            printf 'export VERTA_AXE_JS=%q\n' "$VERTA_AXE_JS"
            if [ -n "${VERTA_LIGHTHOUSE:-}" ]; then
                printf 'export VERTA_LIGHTHOUSE=%q\n' "$VERTA_LIGHTHOUSE"
            fi
            ;;
        *)
            echo "usage: $0 [lighthouse]   (or: source $0; browser_tools_install [lighthouse])" >&2
            exit 2
            ;;
    esac
fi
