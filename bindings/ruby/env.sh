# shellcheck shell=bash
# Sourced by test.sh and cross.sh: finds libcodomyrmex_keys.so (building it
# when the default location is empty) and installs Ruby and the ffi gem if
# missing.
#
#   CODOMYRMEX_KEYS_LIB_DIR   directory holding libcodomyrmex_keys.so
#                             (default: <repo>/target/release)

ruby_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$ruby_dir/../.." && pwd)"

# shellcheck source=../../scripts/setup.sh
source "$repo_dir/scripts/setup.sh"
require_commands ruby:ruby
if ! ruby -e 'require "ffi"; require "minitest"' >/dev/null 2>&1; then
    echo "==> installing ruby-ffi" >&2
    _apt_install ruby-ffi ruby-minitest || gem install --no-document ffi minitest
fi

if [ -n "${CODOMYRMEX_KEYS_LIB_DIR:-}" ]; then
    if [ ! -f "$CODOMYRMEX_KEYS_LIB_DIR/libcodomyrmex_keys.so" ]; then
        echo "error: no libcodomyrmex_keys.so in CODOMYRMEX_KEYS_LIB_DIR=$CODOMYRMEX_KEYS_LIB_DIR" >&2
        exit 1
    fi
elif [ ! -f "$repo_dir/target/release/libcodomyrmex_keys.so" ]; then
    echo "==> building libcodomyrmex_keys (cargo build --release)" >&2
    (cd "$repo_dir" && cargo build --release --locked) >&2
fi
# lib/codomyrmex_keys/native.rb reads CODOMYRMEX_KEYS_LIB_DIR, else loads
# <repo>/target/release/libcodomyrmex_keys.so.
