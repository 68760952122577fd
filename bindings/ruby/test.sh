#!/usr/bin/env bash
# Runs the tests of the Ruby binding (minitest) against libcodomyrmex_keys.so
# from $CODOMYRMEX_KEYS_LIB_DIR, else <repo>/target/release (built if
# absent). Extra arguments go to minitest (e.g. -v, -n /rfc4231/).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ruby_dir"
echo "==> ruby tests ($(ruby -e 'require "ffi"; print "ruby #{RUBY_VERSION}, ffi #{FFI::VERSION}"'))"
ruby -w -Ilib -Itest test/run.rb "$@"
