# shellcheck shell=bash
# Sourced by test.sh and cross.sh: installs Go if missing, points
# CODOMYRMEX_KEYS_LIB_DIR at the library to test (../lib-dir.sh) and sets
# pkg-config and cgo up for it.

go_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$go_dir/../.." && pwd)"

# shellcheck source=../../scripts/setup.sh
source "$repo_dir/scripts/setup.sh"
require_commands go:golang-go

# shellcheck source=../lib-dir.sh
source "$go_dir/../lib-dir.sh"
lib_dir="$CODOMYRMEX_KEYS_LIB_DIR"

# The package finds the library with pkg-config (#cgo pkg-config); the
# staged library directory has a relocatable codomyrmex_keys.pc.
if [ -f "$lib_dir/pkgconfig/codomyrmex_keys.pc" ]; then
    export PKG_CONFIG_PATH="$lib_dir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi
export CGO_ENABLED=1
export CGO_LDFLAGS="-L$lib_dir -Wl,-rpath,$lib_dir${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
# Standard library only: never reach for the network.
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOPROXY=off
# A machine without a usable home directory gets a throwaway build cache.
go_cache="$(go env GOCACHE 2>/dev/null || true)"
if [ -z "$go_cache" ] || [ "$go_cache" = off ]; then
    GOCACHE="$(mktemp -d)"
    export GOCACHE
fi
