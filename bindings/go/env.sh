# shellcheck shell=bash
# Sourced by test.sh and cross.sh: finds libcodomyrmex_keys.so (building it
# when the default location is empty), installs Go if missing, and sets the
# cgo flags for this package.
#
#   CODOMYRMEX_KEYS_LIB_DIR   directory holding libcodomyrmex_keys.so
#                             (default: <repo>/target/release)

go_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$go_dir/../.." && pwd)"

# shellcheck source=../../scripts/setup.sh
source "$repo_dir/scripts/setup.sh"
require_commands go:golang-go

if [ -n "${CODOMYRMEX_KEYS_LIB_DIR:-}" ]; then
    lib_dir="$CODOMYRMEX_KEYS_LIB_DIR"
    if [ ! -f "$lib_dir/libcodomyrmex_keys.so" ]; then
        echo "error: no libcodomyrmex_keys.so in CODOMYRMEX_KEYS_LIB_DIR=$lib_dir" >&2
        exit 1
    fi
else
    lib_dir="$repo_dir/target/release"
    if [ ! -f "$lib_dir/libcodomyrmex_keys.so" ]; then
        echo "==> building libcodomyrmex_keys (cargo build --release)" >&2
        (cd "$repo_dir" && cargo build --release --locked) >&2
    fi
fi
lib_dir="$(cd "$lib_dir" && pwd)"

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
