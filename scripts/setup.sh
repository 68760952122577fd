# shellcheck shell=bash
# Sourced by the other scripts: installs what a fresh machine lacks.
#
#   require_commands cmd:debian-package ...
#
# For every command not on PATH, installs its Debian package (as root, or
# with sudo). cmake falls back to PyPI when apt is unavailable.

_apt_updated=""

_as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

_apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        return 1
    fi
    if [ -z "$_apt_updated" ]; then
        _as_root apt-get update -qq >/dev/null || return 1
        _apt_updated=1
    fi
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

require_commands() {
    local missing=() spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing ${missing[*]}"
    if _apt_install "${missing[@]}"; then
        return 0
    fi
    if [[ " ${missing[*]} " == *" cmake "* ]] && python3 -m pip install -q --user cmake; then
        PATH="$(python3 -m site --user-base)/bin:$PATH"
        export PATH
        return 0
    fi
    echo "error: could not install ${missing[*]}; install them and run again" >&2
    return 1
}
