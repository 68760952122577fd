# shellcheck shell=bash
# Sourced by every binding's test.sh and cross.sh: the bindings' tests use
# the library in $CODOMYRMEX_KEYS_LIB_DIR (a directory holding
# libcodomyrmex_keys.so.1). Unless it is set, it becomes the library that
# scripts/capi.sh stages (built with cargo-c when needed), and is exported
# for the programs the tests start.
if [ -z "${CODOMYRMEX_KEYS_LIB_DIR:-}" ]; then
    _bindings_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    "$_bindings_repo/scripts/capi.sh" stage >/dev/null
    CODOMYRMEX_KEYS_LIB_DIR="$("$_bindings_repo/scripts/capi.sh" libdir)"
    unset _bindings_repo
fi
export CODOMYRMEX_KEYS_LIB_DIR
if [ ! -f "$CODOMYRMEX_KEYS_LIB_DIR/libcodomyrmex_keys.so.1" ]; then
    echo "error: no libcodomyrmex_keys.so.1 in CODOMYRMEX_KEYS_LIB_DIR=$CODOMYRMEX_KEYS_LIB_DIR" >&2
    exit 1
fi
