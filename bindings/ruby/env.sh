# shellcheck shell=bash
# Sourced by test.sh and cross.sh: installs Ruby and the ffi gem if missing,
# and points CODOMYRMEX_KEYS_LIB_DIR at the library to test (../lib-dir.sh).

ruby_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$ruby_dir/../.." && pwd)"

# shellcheck source=../../scripts/setup.sh
source "$repo_dir/scripts/setup.sh"
require_commands ruby:ruby
if ! ruby -e 'require "ffi"; require "minitest"' >/dev/null 2>&1; then
    echo "==> installing ruby-ffi" >&2
    _apt_install ruby-ffi ruby-minitest || gem install --no-document ffi minitest
fi

# shellcheck source=../lib-dir.sh
source "$ruby_dir/../lib-dir.sh"
